import { and, isNotNull, lt } from "drizzle-orm";
import * as v from "valibot";
import { actingAs, currentActor } from "../events/acting";
import { Actor, SYSTEM } from "../events/schema";
import { continueDeletion } from "../labels/deletion";
import { labels } from "../labels/table";
import { database } from "../lib/db";
import { errorForLog } from "../lib/errors";
import { poke } from "../live/poke";
import { continueRetype, firstPass } from "../roles/retype";
import { roles } from "../roles/table";
import { shardOf } from "../shards/directory";

/**
 * The "bulk" queue: set-based changes that go on after the request that began them (a
 * label taken from its holders, a role's new type given to its members), a
 * bounded batch (one D1 transaction, ../lib/bounded.ts) at a time. A queue rather than the
 * workspace's Durable Object and its alarm: the object serves the live stream and
 * serializes merges one at a time, which a job of many batches would hold up; a queue
 * retries with backoff, and its consumer runs beside requests. Every job is idempotent
 * batch by batch (each batch picks what is still to do as it runs), so a message
 * delivered twice, or two at once, repeat nothing.
 */
const Id = v.pipe(v.string(), v.maxLength(64));
/** Who began the job, whom its events name (worker/events/actor.ts); a job queued without one (before actors, or resumed by the sweep) acts as `system`. */
const JobActor = v.optional(Actor);
const BulkMessage = v.variant("type", [
  /** Take a label being deleted from its holders (worker/labels/deletion.ts). */
  v.object({ type: v.literal("label.deletion"), workspaceId: Id, slug: Id, actor: JobActor }),
  /** Give a role's members its new type (worker/roles/retype.ts), from where the last invocation stood. */
  v.object({
    type: v.literal("role.retype"),
    workspaceId: Id,
    key: Id,
    actor: JobActor,
    cursor: v.object({
      passStarted: v.pipe(v.string(), v.maxLength(64)),
      changed: v.number(),
      status: v.number(),
      after: Id,
    }),
  }),
]);
export type BulkMessage = v.InferOutput<typeof BulkMessage>;

/** Work per invocation before handing over to a fresh message: as the imports' consumer (worker/imports/queue.ts). */
const TIME_BUDGET_MS = 1_000;
/** A job whose message was lost: the sweep queues it again after this long. */
export const STALLED_MS = 60_000;

/** Queues a job; its events will name the actor of the work that queues it, unless the message names one. */
export async function enqueueBulk(env: Env, message: BulkMessage): Promise<void> {
  await env.BULK_QUEUE.send({ ...message, actor: message.actor ?? currentActor() });
}

/** The queue consumer for "bulk" (dispatched from worker/index.ts by queue name). */
export async function consumeBulk(batch: MessageBatch, env: Env): Promise<void> {
  for (const message of batch.messages) {
    const parsed = v.safeParse(BulkMessage, message.body);
    if (!parsed.success) {
      console.error(JSON.stringify({ bulkMessage: "malformed", body: String(message.body).slice(0, 200) }));
      message.ack();
      continue;
    }
    try {
      const job = parsed.output;
      const rest = await actingAs(job.actor ?? SYSTEM, () => runBulk(env, job));
      if (rest) await enqueueBulk(env, rest);
      message.ack();
    } catch (err) {
      console.error(JSON.stringify({ bulk: parsed.output, attempt: message.attempts, error: errorForLog(err) }));
      message.retry({ delaySeconds: Math.min(300, 2 ** message.attempts) });
    }
  }
}

/** Runs a job's batches for one invocation's budget; answers the message that goes on from there, or null when it finished. */
export async function runBulk(env: Env, job: BulkMessage, budgetMs = TIME_BUDGET_MS): Promise<BulkMessage | null> {
  const shard = await shardOf(env, job.workspaceId);
  if (!shard) return null;
  const db = database(shard.d1);
  const deadline = Date.now() + budgetMs;
  switch (job.type) {
    case "label.deletion": {
      // The live stream learns of each batch's events as it commits (pokes coalesce per workspace).
      const announce = () => poke(env, job.workspaceId);
      return (await continueDeletion(env, db, job.workspaceId, job.slug, { deadline }, announce)) ? null : job;
    }
    case "role.retype": {
      const cursor = await continueRetype(env, db, job.workspaceId, job.key, job.cursor, { deadline });
      return cursor && { ...job, cursor };
    }
  }
}

/**
 * For the five-minute Cron Trigger, on each shard (`d1`): queues again every job under way
 * for longer than STALLED_MS, in case its message was lost (a crash between a batch and the
 * next send). A job still running gets a second message, which is harmless (see above).
 */
export async function resumeStalledBulk(env: Env, d1: D1Database, at: number): Promise<number> {
  const db = database(d1);
  const before = new Date(at - STALLED_MS).toISOString();
  const deleting = await db
    .select({ workspaceId: labels.workspaceId, slug: labels.slug })
    .from(labels)
    .where(and(isNotNull(labels.deletingSince), lt(labels.deletingSince, before)));
  for (const label of deleting) await enqueueBulk(env, { type: "label.deletion", ...label });
  const retyping = await db
    .select({ workspaceId: roles.workspaceId, key: roles.key })
    .from(roles)
    .where(and(isNotNull(roles.retypingSince), lt(roles.retypingSince, before)));
  for (const role of retyping) await enqueueBulk(env, { type: "role.retype", ...role, cursor: firstPass() });
  return deleting.length + retyping.length;
}
