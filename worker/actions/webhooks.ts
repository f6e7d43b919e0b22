import { eq, sql } from "drizzle-orm";
import * as v from "valibot";
import { now } from "../events/append";
import { events } from "../events/table";
import { database } from "../lib/db";
import { webhookHeaders } from "./signature";
import { type Attempt, actionRuns, actions } from "./table";

/** The "webhooks" queue's message: "attempt this delivery". */
const WebhookMessage = v.object({ runId: v.pipe(v.string(), v.maxLength(64)) });
export type WebhookMessage = v.InferOutput<typeof WebhookMessage>;

/** Attempts before a delivery is dead (kept below the consumer's max_retries in wrangler.toml). */
export const MAX_ATTEMPTS = 5;
const TIMEOUT_MS = 10_000;
const MAX_DELAY_SECONDS = 3600;

/** Optional: the first retry's delay in seconds (default 30); each later one doubles it. */
export type WebhookEnv = Env & Partial<{ WEBHOOK_RETRY_BASE_SECONDS: string }>;

/** Exponential backoff: base, 2 x base, 4 x base... capped at an hour. */
export function backoffSeconds(attempt: number, base = 30): number {
  return Math.min(base * 2 ** (attempt - 1), MAX_DELAY_SECONDS);
}

/** The queue consumer for "webhooks" (dispatched from worker/index.ts by queue name). */
export async function consumeWebhooks(batch: MessageBatch, env: WebhookEnv): Promise<void> {
  const base = Number(env.WEBHOOK_RETRY_BASE_SECONDS ?? 30);
  for (const message of batch.messages) {
    const parsed = v.safeParse(WebhookMessage, message.body);
    if (!parsed.success) {
      message.ack();
      continue;
    }
    const outcome = await attemptDelivery(env, parsed.output.runId);
    if (outcome.retry)
      message.retry({ delaySeconds: backoffSeconds(outcome.attempt, Number.isFinite(base) ? base : 30) });
    else message.ack();
  }
}

/**
 * One attempt: POSTs `{type, timestamp, data}` signed per Standard Webhooks, records the
 * attempt, and says whether to retry. A delivery not pending (done, dead, or its action
 * deleted) is not attempted again.
 */
export async function attemptDelivery(env: Env, runId: string): Promise<{ retry: boolean; attempt: number }> {
  const db = database(env.DB);
  const [row] = await db
    .select({
      run: actionRuns,
      action: { action: actions.action, secret: actions.secret },
      event: { type: events.type, at: events.at, data: sql<string>`${events.data}` },
    })
    .from(actionRuns)
    .innerJoin(actions, eq(actions.id, actionRuns.actionId))
    .innerJoin(events, sql`${events.workspaceId} = ${actionRuns.workspaceId} and ${events.seq} = ${actionRuns.seq}`)
    .where(eq(actionRuns.id, runId));
  if (row?.run.status !== "pending" || row.action.action.type !== "webhook" || !row.action.secret) {
    return { retry: false, attempt: 0 };
  }
  const body = `{"type":${JSON.stringify(row.event.type)},"timestamp":${JSON.stringify(row.event.at)},"data":${row.event.data}}`;
  const started = Date.now();
  const attempt: Attempt = { at: new Date(started).toISOString(), status: null, error: null, durationMs: 0 };
  try {
    const response = await fetch(row.action.action.url, {
      method: "POST",
      headers: await webhookHeaders(row.action.secret, runId, body),
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    attempt.status = response.status;
    if (!response.ok) attempt.error = `HTTP ${response.status}`;
    await response.body?.cancel();
  } catch (err) {
    attempt.error = String(err).slice(0, 300);
  }
  attempt.durationMs = Date.now() - started;
  const attempts = [...row.run.attempts, attempt];
  const ok = attempt.error === null;
  const dead = !ok && attempts.length >= MAX_ATTEMPTS;
  await db
    .update(actionRuns)
    .set({ status: ok ? "succeeded" : dead ? "dead" : "pending", attempts, updatedAt: now() })
    .where(eq(actionRuns.id, runId));
  return { retry: !ok && !dead, attempt: attempts.length };
}
