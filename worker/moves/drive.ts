import { and, eq, isNull } from "drizzle-orm";
import { database } from "../lib/db";
import { ApiError, invalidField, notFound } from "../lib/errors";
import { newId } from "../lib/ids";
import { sqliteFailure } from "../lib/sqlite-errors";
import { forgetShard, shardOf } from "../shards/directory";
import { directoryWorkspaces } from "../shards/directory-table";
import { firstShard, shardAt } from "../shards/shards";
import { type MoveRow, moves } from "./directory-table";
import { GRACE_MS, Move, type MoveCursor, type MoveOptions, type Shards, startMove } from "./engine";
import { routeLegacyCredentials } from "./legacy-routes";
import { MoveRefused } from "./shape";

/**
 * Moves as the API and the workspace's Durable Object see them: the directory's `moves`
 * row holds the engine's cursor (./engine.ts); the object runs one step per alarm and
 * stores the cursor after each, so a restarted object resumes where the last step ended.
 */

const directory = (env: Env) => database(env.DIRECTORY);
const now = () => new Date().toISOString();

/** A move as GET /v1/platform/moves/{id} answers it. */
export function moveJson(row: MoveRow) {
  const cursor = JSON.parse(row.cursor) as MoveCursor | null;
  return {
    id: row.id,
    workspaceId: row.workspaceId,
    from: row.fromShard,
    to: row.toShard,
    status: row.status,
    copied: cursor?.copied ?? 0,
    total: cursor?.total ?? 0,
    error: row.error,
    finishedAt: row.finishedAt,
  };
}

export async function loadMove(env: Env, id: string) {
  const [row] = await directory(env).select().from(moves).where(eq(moves.id, id));
  if (!row) throw notFound("move");
  return moveJson(row);
}

const shardsOfMove = (env: Env, row: MoveRow): Shards => {
  const source = shardAt(env, row.fromShard);
  const target = shardAt(env, row.toShard);
  if (!source || !target) throw new MoveRefused("a shard of the move is no longer bound");
  return { source: source.d1, target: target.d1 };
};

/**
 * Starts moving a workspace to shard `to`: the directory's row (its unique index lets one
 * unfinished move per workspace in), then the source starts recording changes. The
 * workspace's object drives the rest (`driveMove`).
 */
export async function requestMove(env: Env, workspaceId: string, to: number) {
  const from = await shardOf(env, workspaceId);
  if (!from) throw notFound("workspace");
  if (!shardAt(env, to)) throw invalidField("shard", `No shard ${to}: GET /v1/platform/shards lists them.`);
  if (from.index === to) throw new ApiError(409, "already_on_shard");
  const at = now();
  const row: MoveRow = {
    id: newId("mov"),
    workspaceId,
    fromShard: from.index,
    toShard: to,
    status: "running",
    cursor: "null",
    error: null,
    createdAt: at,
    updatedAt: at,
    finishedAt: null,
  };
  try {
    await directory(env).insert(moves).values(row);
  } catch (err) {
    if (sqliteFailure(err).kind === "unique") throw new ApiError(409, "move_running");
    throw err;
  }
  try {
    const shards = shardsOfMove(env, row);
    if (from.index === firstShard(env).index) await routeLegacyCredentials(shards.source, env.DIRECTORY, workspaceId);
    const cursor = await startMove(shards, { moveId: row.id, workspaceId });
    row.cursor = JSON.stringify(cursor);
    await directory(env).update(moves).set({ cursor: row.cursor }).where(eq(moves.id, row.id));
  } catch (err) {
    if (!(err instanceof MoveRefused)) {
      await finish(env, row.id, "failed", String(err));
      throw err;
    }
    await finish(env, row.id, "failed", err.message);
    throw new ApiError(409, "move_running", err.message);
  }
  await env.WORKSPACE.getByName(workspaceId).driveMove();
  return moveJson(row);
}

async function finish(env: Env, id: string, status: MoveRow["status"], error: string | null) {
  const at = now();
  await directory(env).update(moves).set({ status, error, updatedAt: at, finishedAt: at }).where(eq(moves.id, id));
}

/** What the object does around a step: the switch runs under its blockConcurrencyWhile and tells it the shard changed. */
export type MoveHost = {
  serialized: <T>(run: () => Promise<T>) => Promise<T>;
  shardChanged: () => Promise<void>;
};

/**
 * One step of the workspace's unfinished move, if any; answers when to run the next one
 * (ms since the epoch), or null when the move is over. At "caught-up" the switch: under
 * the object's lock, the source is frozen (writes there now fail with workspace_moved and
 * are retried on the target), drained to empty, and the directory names the target.
 */
export async function stepMove(
  env: Env,
  workspaceId: string,
  host: MoveHost,
  options: MoveOptions = {},
): Promise<number | null> {
  const [row] = await directory(env)
    .select()
    .from(moves)
    .where(and(eq(moves.workspaceId, workspaceId), isNull(moves.finishedAt)));
  if (!row || row.cursor === "null") return null;
  const move = new Move(shardsOfMove(env, row), JSON.parse(row.cursor) as MoveCursor, options);
  let status = row.status;
  let error: string | null = null;
  try {
    const phase = move.cursor.phase;
    if (phase === "caught-up" || phase === "frozen" || phase === "drained") {
      await host.serialized(async () => {
        if (move.cursor.phase === "caught-up") await move.freeze();
        while (move.cursor.phase === "frozen") await move.step();
        await directory(env)
          .update(directoryWorkspaces)
          .set({ shard: row.toShard })
          .where(eq(directoryWorkspaces.id, workspaceId));
        await host.shardChanged();
        move.switched();
      });
      status = "completed";
    } else {
      await move.step();
    }
  } catch (err) {
    if (!(err instanceof MoveRefused)) throw err;
    // The shards no longer agree (a schema changed meanwhile): the move is given up.
    error = err.message;
    status = "failed";
    move.rollback();
  }
  const c = move.cursor;
  const at = now();
  const over = c.phase === "done" || c.phase === "rolled-back";
  await directory(env)
    .update(moves)
    .set({ cursor: JSON.stringify(c), status, error: error ?? row.error, updatedAt: at, finishedAt: over ? at : null })
    .where(eq(moves.id, row.id));
  if (over) return null;
  // The old copy stays until no isolate can still read it (./engine.ts GRACE_MS).
  const grace = options.graceMs ?? GRACE_MS;
  if (c.phase === "delete-old" && c.switchedAt !== null) return Math.max(Date.now(), c.switchedAt + grace);
  return Date.now();
}

/** How long a write refused by a move's switch waits for it before answering 503 (worker/moves/retry.ts). */
const SETTLE_MS = 5_000;

/**
 * Whether the workspace's move has switched, or is no longer running, within SETTLE_MS:
 * then this isolate's cached shard is dropped, so the write runs again on the shard the
 * directory now names.
 */
export async function settledMove(env: Env, workspaceId: string): Promise<boolean> {
  const deadline = Date.now() + SETTLE_MS;
  for (;;) {
    const [row] = await directory(env)
      .select({ status: moves.status })
      .from(moves)
      .where(and(eq(moves.workspaceId, workspaceId), isNull(moves.finishedAt)));
    if (row?.status !== "running") {
      forgetShard(workspaceId);
      return true;
    }
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
