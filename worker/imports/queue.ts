import { eq } from "drizzle-orm";
import * as v from "valibot";
import { database } from "../lib/db";
import { errorForLog, errorReason } from "../lib/errors";
import { sqliteFailure } from "../lib/sqlite-errors";
import { poke } from "../live/poke";
import { MESSAGE } from "../live/protocol";
import { MOVED_RETRY_AFTER_SECONDS } from "../moves/refusal";
import { forgetShard, shardOf } from "../shards/directory";
import { firstShard } from "../shards/shards";
import { processWindow } from "./chunk";
import { ImportMessage } from "./message";
import { progressOf } from "./reads";
import { type ImportRow, imports } from "./table";

/** What one invocation does before it queues the rest: at most `windows` windows, for about `ms`. */
export type ImportBudget = { windows: number; ms: number };

/**
 * Windows one invocation works through before handing over to a fresh message. Each
 * window costs a few reads (the import, roles, the importer, reach, labels being
 * deleted, the R2 range, the first chunk's members), then per chunk one batch of a dozen
 * statements or so, which also reads the next chunk's members; a second's budget holds a
 * few dozen chunks, far from the 1,000 queries an invocation may make.
 *
 * The time budget is short on purpose: under `wrangler dev` an HTTP request that
 * arrives while the consumer is busy is held until the invocation returns (measured:
 * POST /v1/imports answered its 202, and GET /v1/imports/{id} entered the Worker, only
 * when the running invocation ended, 10-20 s later with a 20 s budget; an invocation
 * that merely waits holds nothing). A second's work per invocation keeps progress
 * reads prompt there and costs one queue message per second in production.
 */
const INVOCATION_BUDGET: ImportBudget = { windows: 40, ms: 1_000 };
/** A running import that has not moved for this long gets a fresh queue message (`resumeIfStalled`). */
const STALLED_MS = 60_000;
/** Deliveries of one message before the import is given up as failed (see wrangler.toml). */
export const MAX_ATTEMPTS = 5;

/** The queue consumer (exported as `queue` from worker/index.ts); tests give a budget of their own. */
export async function consumeImports(batch: MessageBatch, env: Env, budget = INVOCATION_BUDGET): Promise<void> {
  for (const message of batch.messages) {
    const parsed = v.safeParse(ImportMessage, message.body);
    if (!parsed.success) {
      console.error(JSON.stringify({ importMessage: "malformed", body: String(message.body).slice(0, 200) }));
      message.ack();
      continue;
    }
    const job = parsed.output;
    const { importId } = job;
    try {
      await runImport(env, job, budget);
      message.ack();
    } catch (err) {
      console.error(
        JSON.stringify({
          import: importId,
          attempt: message.attempts,
          error: errorForLog(err),
        }),
      );
      if (sqliteFailure(err).kind === "moved") {
        // The workspace's move froze this shard: it serves from the new one within seconds,
        // so this is no failure of the import, however many deliveries it took.
        if (job.workspaceId) forgetShard(job.workspaceId);
        message.retry({ delaySeconds: MOVED_RETRY_AFTER_SECONDS });
      } else if (message.attempts >= MAX_ATTEMPTS) {
        await giveUp(env, job, err);
        message.ack();
      } else {
        message.retry({ delaySeconds: 2 ** message.attempts });
      }
    }
  }
}

/**
 * Works through windows of chunks until the import ends or the invocation's budget is
 * spent (checked between chunks), then queues the rest. Every chunk is committed with its
 * position (see ./chunk.ts), so a message delivered twice, or after a crash, just goes on
 * from the stored position.
 */
export async function runImport(env: Env, job: ImportMessage, budget = INVOCATION_BUDGET) {
  const started = Date.now();
  // A window's announcement runs while the next window is read and written; the next
  // announcement waits for it, so events and progress still go out in order.
  let announced = Promise.resolve();
  try {
    for (let n = 0; n < budget.windows && Date.now() - started < budget.ms; n++) {
      const result = await processWindow(env, job, started + budget.ms);
      if (result.kind !== "committed") {
        // Finished, or another invocation is on it: that one carries on alone.
        return;
      }
      await announced;
      announced = announce(env, result.row);
      if (result.row.status !== "running") {
        await env.IMPORTS.delete(result.row.objectKey);
        return;
      }
    }
  } finally {
    await announced;
  }
  await env.IMPORT_QUEUE.send(job satisfies ImportMessage);
}

/**
 * A lost message (or an exhausted consumer) must not leave an import running forever, nor
 * holding one of its workspace's slots (./upload.ts): a running import that has not moved
 * for a minute is queued again. A duplicate message is harmless, as chunks commit at most once.
 */
export async function resumeIfStalled(env: Env, row: Pick<ImportRow, "id" | "workspaceId" | "status" | "updatedAt">) {
  if (row.status === "running" && Date.now() - Date.parse(row.updatedAt) > STALLED_MS) {
    await env.IMPORT_QUEUE.send({ importId: row.id, workspaceId: row.workspaceId } satisfies ImportMessage);
  }
}

/** After a window: the workspace's sockets get its member events, then the progress (for those who follow the import). */
async function announce(env: Env, row: ImportRow) {
  await poke(env, row.workspaceId);
  try {
    const { id, ...progress } = progressOf(row);
    await env.WORKSPACE.getByName(row.workspaceId).publish(
      { type: MESSAGE.importProgress, importId: id, ...progress },
      row.createdBy,
    );
  } catch (err) {
    console.warn(JSON.stringify({ publish: row.id, error: String(err) }));
  }
}

async function giveUp(env: Env, { importId, workspaceId }: ImportMessage, err: unknown) {
  const shard = workspaceId === undefined ? firstShard(env) : await shardOf(env, workspaceId);
  if (!shard) return;
  const db = database(shard.d1);
  const at = new Date().toISOString();
  const [row] = await db
    .update(imports)
    .set({
      status: "failed",
      error: `Processing kept failing: ${errorReason(err).slice(0, 500)}`,
      updatedAt: at,
      completedAt: at,
    })
    .where(eq(imports.id, importId))
    .returning();
  if (row) await announce(env, row);
}
