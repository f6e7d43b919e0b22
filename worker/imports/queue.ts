import { eq } from "drizzle-orm";
import * as v from "valibot";
import { database } from "../lib/db";
import { errorForLog, errorReason } from "../lib/errors";
import { poke } from "../live/poke";
import { MESSAGE } from "../live/protocol";
import { processChunk } from "./chunk";
import { progressOf } from "./reads";
import { type ImportRow, imports } from "./table";

/** The queue's message: "go on with this import from where it stands". */
const ImportMessage = v.object({ importId: v.pipe(v.string(), v.maxLength(64)) });
export type ImportMessage = v.InferOutput<typeof ImportMessage>;

/**
 * Chunks one invocation works through before handing over to a fresh message. Each
 * chunk costs about ten D1 queries (two reads, a batch of a dozen statements or so, two loads of
 * the import), so this stays far from the 1,000 queries an invocation may make.
 *
 * The time budget is short on purpose: under `wrangler dev` an HTTP request that
 * arrives while the consumer is busy is held until the invocation returns (measured:
 * POST /v1/imports answered its 202, and GET /v1/imports/{id} entered the Worker, only
 * when the running invocation ended, 10-20 s later with a 20 s budget; an invocation
 * that merely waits holds nothing). A second's work per invocation keeps progress
 * reads prompt there and costs one queue message per second in production.
 */
const CHUNKS_PER_INVOCATION = 40;
const TIME_BUDGET_MS = 1_000;
/** A running import that has not moved for this long gets a fresh queue message (`resumeIfStalled`). */
const STALLED_MS = 60_000;
/** Deliveries of one message before the import is given up as failed (see wrangler.toml). */
export const MAX_ATTEMPTS = 5;

/** The queue consumer (exported as `queue` from worker/index.ts). */
export async function consumeImports(batch: MessageBatch, env: Env): Promise<void> {
  for (const message of batch.messages) {
    const parsed = v.safeParse(ImportMessage, message.body);
    if (!parsed.success) {
      console.error(JSON.stringify({ importMessage: "malformed", body: String(message.body).slice(0, 200) }));
      message.ack();
      continue;
    }
    const { importId } = parsed.output;
    try {
      await runImport(env, importId);
      message.ack();
    } catch (err) {
      console.error(
        JSON.stringify({
          import: importId,
          attempt: message.attempts,
          error: errorForLog(err),
        }),
      );
      if (message.attempts >= MAX_ATTEMPTS) {
        await giveUp(env, importId, err);
        message.ack();
      } else {
        message.retry({ delaySeconds: 2 ** message.attempts });
      }
    }
  }
}

/**
 * Works through chunks until the import ends or the invocation's budget is spent, then
 * queues the rest. Every chunk is committed with its position (see ./chunk.ts), so a
 * message delivered twice, or after a crash, just goes on from the stored position.
 */
export async function runImport(
  env: Env,
  importId: string,
  budget = { chunks: CHUNKS_PER_INVOCATION, ms: TIME_BUDGET_MS },
) {
  const started = Date.now();
  // A chunk's announcement runs while the next chunk is read and written; the next
  // announcement waits for it, so events and progress still go out in chunk order.
  let announced = Promise.resolve();
  try {
    for (let n = 0; n < budget.chunks && Date.now() - started < budget.ms; n++) {
      const result = await processChunk(env, importId);
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
  await env.IMPORT_QUEUE.send({ importId } satisfies ImportMessage);
}

/**
 * A lost message (or an exhausted consumer) must not leave an import running forever, nor
 * holding one of its workspace's slots (./upload.ts): a running import that has not moved
 * for a minute is queued again. A duplicate message is harmless, as chunks commit at most once.
 */
export async function resumeIfStalled(env: Env, row: Pick<ImportRow, "id" | "status" | "updatedAt">) {
  if (row.status === "running" && Date.now() - Date.parse(row.updatedAt) > STALLED_MS) {
    await env.IMPORT_QUEUE.send({ importId: row.id } satisfies ImportMessage);
  }
}

/** After a chunk: the workspace's sockets get its member events, then the progress (for those who follow the import). */
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

async function giveUp(env: Env, importId: string, err: unknown) {
  const db = database(env.DB);
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
