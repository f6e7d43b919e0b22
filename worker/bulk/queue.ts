import { and, isNotNull, lt } from "drizzle-orm";
import * as v from "valibot";
import { continueDeletion, type DeletionEnv } from "../labels/deletion";
import { labels } from "../labels/table";
import { database } from "../lib/db";
import { errorForLog } from "../lib/errors";
import { poke } from "../live/poke";

/**
 * The "bulk" queue: set-based changes that go on after the request that began them, a
 * bounded batch (one D1 transaction, ../lib/bounded.ts) at a time. A queue rather than the
 * workspace's Durable Object and its alarm: the object serves the live stream and
 * serializes merges one at a time, which a job of many batches would hold up; a queue
 * retries with backoff, and its consumer runs beside requests. Every job is idempotent
 * batch by batch (each batch picks what is still to do as it runs), so a message
 * delivered twice, or two at once, repeat nothing.
 */
const BulkMessage = v.variant("type", [
  /** Take a label being deleted from its holders (worker/labels/deletion.ts). */
  v.object({
    type: v.literal("label.deletion"),
    workspaceId: v.pipe(v.string(), v.maxLength(64)),
    slug: v.pipe(v.string(), v.maxLength(64)),
  }),
]);
export type BulkMessage = v.InferOutput<typeof BulkMessage>;

/** Work per invocation before handing over to a fresh message: as the imports' consumer (worker/imports/queue.ts). */
const TIME_BUDGET_MS = 1_000;
/** A job whose message was lost: the sweep queues it again after this long. */
export const STALLED_MS = 60_000;

export type BulkEnv = Env & DeletionEnv;

export async function enqueueBulk(env: Env, message: BulkMessage): Promise<void> {
  await env.BULK_QUEUE.send(message);
}

/** The queue consumer for "bulk" (dispatched from worker/index.ts by queue name). */
export async function consumeBulk(batch: MessageBatch, env: BulkEnv): Promise<void> {
  for (const message of batch.messages) {
    const parsed = v.safeParse(BulkMessage, message.body);
    if (!parsed.success) {
      console.error(JSON.stringify({ bulkMessage: "malformed", body: String(message.body).slice(0, 200) }));
      message.ack();
      continue;
    }
    try {
      if (!(await runBulk(env, parsed.output))) await enqueueBulk(env, parsed.output);
      message.ack();
    } catch (err) {
      console.error(JSON.stringify({ bulk: parsed.output, attempt: message.attempts, error: errorForLog(err) }));
      message.retry({ delaySeconds: Math.min(300, 2 ** message.attempts) });
    }
  }
}

/** Runs a job's batches for one invocation's budget; answers whether it finished. */
export async function runBulk(env: BulkEnv, job: BulkMessage, budgetMs = TIME_BUDGET_MS): Promise<boolean> {
  const db = database(env.DB);
  const deadline = Date.now() + budgetMs;
  // The live stream learns of each batch's events as it commits (pokes coalesce per workspace).
  const announce = () => poke(env, job.workspaceId);
  return continueDeletion(env, db, job.workspaceId, job.slug, { deadline }, announce);
}

/**
 * For the five-minute Cron Trigger: queues again every job under way for longer than
 * STALLED_MS, in case its message was lost (a crash between a batch and the next send). A
 * job still running gets a second message, which is harmless (see above).
 */
export async function resumeStalledBulk(env: Env, at: number): Promise<number> {
  const db = database(env.DB);
  const before = new Date(at - STALLED_MS).toISOString();
  const deleting = await db
    .select({ workspaceId: labels.workspaceId, slug: labels.slug })
    .from(labels)
    .where(and(isNotNull(labels.deletingSince), lt(labels.deletingSince, before)));
  for (const label of deleting) await enqueueBulk(env, { type: "label.deletion", ...label });
  return deleting.length;
}
