import { and, eq, isNull, lt, lte, or, sql } from "drizzle-orm";
import * as v from "valibot";
import type { MemberLike } from "../cel/cel";
import { now } from "../events/append";
import { events } from "../events/table";
import { database } from "../lib/db";
import { poke } from "../live/poke";
import { members } from "../members/table";
import { type MessagingEnv, send } from "../outbox/send";
import { roles } from "../roles/table";
import { shardOf } from "../shards/directory";
import { firstShard } from "../shards/shards";
import { creatorColumns, creatorOn, creatorRoleOn, pauseStatements, runRefusal } from "./authority";
import { decodesToKey, webhookHeaders } from "./signature";
import { type Attempt, actionRuns, actions } from "./table";
import { refusedWebhookUrl, type WebhookUrlEnv } from "./url";

/**
 * The "webhooks" queue's message: "attempt this delivery" (a webhook, email or SMS run) of
 * that workspace, whose shard holds the run. Messages sent before shards have no
 * `workspaceId`: their runs are on shard 0 (a run of a workspace moved since is sent
 * again, with it, by the sweep).
 */
const WebhookMessage = v.object({
  runId: v.pipe(v.string(), v.maxLength(64)),
  workspaceId: v.optional(v.pipe(v.string(), v.maxLength(64))),
});
export type WebhookMessage = v.InferOutput<typeof WebhookMessage>;

/** Attempts before a delivery is dead (kept below the consumer's max_retries in wrangler.toml). */
export const MAX_ATTEMPTS = 5;
const TIMEOUT_MS = 10_000;
const MAX_DELAY_SECONDS = 3600;
/**
 * How long an attempt holds its run: longer than the fetch's timeout, so a second copy
 * of the message (a redelivery, or a re-enqueue after a crash) finds it held and leaves
 * it; an attempt that died holding it is retried by the sweep once the lease is over.
 */
export const LEASE_MS = 60_000;
/**
 * A message may come up to this early for its run's next attempt (queue delays are not
 * exact). One earlier than that is a copy (a second enqueue of the run) and is dropped,
 * so it cannot cut a backoff short; the message meant for that attempt is still coming,
 * and the sweep stands in if it is lost.
 */
const EARLY_MS = 5_000;

/** Optional: the first retry's delay in seconds (default 30); each later one doubles it. */
export type WebhookEnv = MessagingEnv & WebhookUrlEnv & Partial<{ WEBHOOK_RETRY_BASE_SECONDS: string }>;

/** Exponential backoff: base, 2 x base, 4 x base... capped at an hour. */
export function backoffSeconds(attempt: number, base = 30): number {
  return Math.min(base * 2 ** (attempt - 1), MAX_DELAY_SECONDS);
}

function retryBase(env: WebhookEnv): number {
  const base = Number(env.WEBHOOK_RETRY_BASE_SECONDS ?? 30);
  return Number.isFinite(base) ? base : 30;
}

/** Hands runs of a workspace to the queue: the consumer below attempts them. */
export async function enqueueRuns(env: Env, workspaceId: string, runIds: readonly string[]): Promise<void> {
  for (let i = 0; i < runIds.length; i += 100) {
    const body = runIds.slice(i, i + 100).map((runId) => ({ body: { runId, workspaceId } satisfies WebhookMessage }));
    await env.WEBHOOK_QUEUE.sendBatch(body);
  }
}

/** The queue consumer for "webhooks" (dispatched from worker/index.ts by queue name). */
export async function consumeWebhooks(batch: MessageBatch, env: WebhookEnv): Promise<void> {
  for (const message of batch.messages) {
    const parsed = v.safeParse(WebhookMessage, message.body);
    if (!parsed.success) {
      message.ack();
      continue;
    }
    const outcome = await attemptDelivery(env, parsed.output);
    if (outcome.retry) message.retry({ delaySeconds: backoffSeconds(outcome.attempt, retryBase(env)) });
    else message.ack();
  }
}

type LoggedEvent = { type: string; at: string; data: string; actor: string };

/**
 * One attempt of a webhook, email or SMS run: takes the run's lease, delivers, records
 * the attempt and says whether to retry. A run not pending (done, dead, or its action
 * deleted), or held by another attempt, is left alone: a message may come twice (the
 * queue is at-least-once, and the sweep re-enqueues), the delivery does not.
 */
export async function attemptDelivery(
  env: WebhookEnv,
  { runId, workspaceId }: WebhookMessage,
): Promise<{ retry: boolean; attempt: number }> {
  const shard = workspaceId === undefined ? firstShard(env) : await shardOf(env, workspaceId);
  if (!shard) return { retry: false, attempt: 0 };
  const db = database(shard.d1);
  const started = Date.now();
  const at = new Date(started).toISOString();
  const [claimed] = await db
    .update(actionRuns)
    .set({ leaseUntil: new Date(started + LEASE_MS).toISOString() })
    .where(
      and(
        eq(actionRuns.id, runId),
        eq(actionRuns.status, "pending"),
        or(isNull(actionRuns.leaseUntil), lt(actionRuns.leaseUntil, at)),
        or(isNull(actionRuns.dueAt), lte(actionRuns.dueAt, new Date(started + EARLY_MS).toISOString())),
      ),
    )
    .returning({ attempts: actionRuns.attempts });
  if (!claimed) return { retry: false, attempt: 0 };
  const [row] = await db
    .select({
      workspaceId: actionRuns.workspaceId,
      action: {
        id: actions.id,
        workspaceId: actions.workspaceId,
        name: actions.name,
        trigger: actions.trigger,
        createdBy: actions.createdBy,
        pausedReason: actions.pausedReason,
      },
      spec: actions.action,
      secret: actions.secret,
      creator: creatorColumns,
      event: {
        type: events.type,
        at: events.at,
        data: sql<string>`${events.data}`,
        actor: sql<string>`${events.actor}`,
      },
    })
    .from(actionRuns)
    .innerJoin(actions, eq(actions.id, actionRuns.actionId))
    .innerJoin(events, sql`${events.workspaceId} = ${actionRuns.workspaceId} and ${events.seq} = ${actionRuns.seq}`)
    .leftJoin(members, creatorOn)
    .leftJoin(roles, creatorRoleOn)
    .where(eq(actionRuns.id, runId));
  if (!row) return { retry: false, attempt: 0 };

  const attempt: Attempt = { at, status: null, error: null, durationMs: 0 };
  // Judged again at each attempt: the creator may have lost a scope since the run was recorded.
  const refusal = row.action.pausedReason ?? runRefusal({ ...row.action, action: row.spec }, row.creator);
  if (refusal !== null) {
    attempt.error = refusal;
    const attempts = [...claimed.attempts, attempt];
    const [paused] = await db.batch([
      ...pauseStatements(db, row.action, refusal, at),
      db
        .update(actionRuns)
        .set({ status: "paused", attempts, dueAt: null, leaseUntil: null, updatedAt: now() })
        .where(eq(actionRuns.id, runId)),
    ]);
    // Its action.paused event, for live watchers.
    if (paused.meta.changes > 0) await poke(env, row.workspaceId);
    return { retry: false, attempt: attempts.length };
  }
  // A failure that another attempt would not fix (no address, a refused URL) ends the run.
  let final = false;
  if (row.spec.type === "webhook") {
    const refused = refusedWebhookUrl(row.spec.url, env) ?? (row.secret && unusableSecret(row.secret));
    if (refused || !row.secret) {
      attempt.error = refused || "The action has no signing secret.";
      final = true;
    } else {
      await postWebhook(row.spec.url, row.secret, runId, row.event, attempt);
    }
  } else if (row.spec.type === "email" || row.spec.type === "sms") {
    const data = JSON.parse(row.event.data) as { member?: MemberLike; joinRequest?: MemberLike };
    const subject = data.member ?? data.joinRequest;
    const to = row.spec.type === "email" ? subject?.email : subject?.phone;
    if (!to) {
      attempt.error = `The member has no ${row.spec.type === "email" ? "email" : "phone"}.`;
      final = true;
    } else {
      // The run's id keys the message, so a repeated attempt is not stored twice (outbox) or sent twice (Resend).
      const result = await send(env, {
        id: runId,
        workspaceId: row.workspaceId,
        // A join request's person is no member yet.
        memberId: data.member?.id ?? null,
        channel: row.spec.type,
        to,
        subject: row.action.name,
        text: row.spec.text,
      });
      if (!result.delivered) attempt.error = `${result.provider} did not deliver`;
    }
  } else {
    return { retry: false, attempt: 0 };
  }
  attempt.durationMs = Date.now() - started;
  const attempts = [...claimed.attempts, attempt];
  const ok = attempt.error === null;
  const retry = !ok && !final && attempts.length < MAX_ATTEMPTS;
  const status = ok ? "succeeded" : retry ? "pending" : final ? "failed" : "dead";
  const due = retry
    ? new Date(Date.now() + backoffSeconds(attempts.length, retryBase(env)) * 1000).toISOString()
    : null;
  await db
    .update(actionRuns)
    .set({ status, attempts, dueAt: due, leaseUntil: null, updatedAt: now() })
    .where(eq(actionRuns.id, runId));
  return { retry, attempt: attempts.length };
}

/**
 * Why a stored secret cannot sign, if it cannot: one saved before secrets were checked to
 * decode to a key. Every attempt would fail the same way, so the run ends at once.
 */
const unusableSecret = (secret: string) =>
  decodesToKey(secret)
    ? null
    : "The action's signing secret is not base64 of 24 to 64 bytes: delete the action and create it again.";

/**
 * POSTs `{type, timestamp, data}` signed per Standard Webhooks; the outcome goes into
 * `attempt`. A redirect is a failed attempt, never followed: its target was never checked
 * by ./url.ts, and a 307/308 would post the signed event there.
 */
async function postWebhook(url: string, secret: string, runId: string, event: LoggedEvent, attempt: Attempt) {
  const body = `{"type":${JSON.stringify(event.type)},"timestamp":${JSON.stringify(event.at)},"data":${event.data},"actor":${event.actor}}`;
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: await webhookHeaders(secret, runId, body),
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    attempt.status = response.status;
    if (response.status >= 300 && response.status < 400) {
      // Never followed (redirect: "manual"): it could lead to an address url.ts refuses.
      const location = (response.headers.get("Location") ?? "").slice(0, 200);
      attempt.error = `HTTP ${response.status}: redirects are not followed${location ? ` (to ${location})` : ""}: give the action the final URL.`;
    } else if (!response.ok) {
      attempt.error = `HTTP ${response.status}`;
    }
    await response.body?.cancel();
  } catch (err) {
    attempt.error = String(err).slice(0, 300);
  }
}
