import { env } from "cloudflare:workers";
import type { Actor } from "../worker/events/schema";
import { shardOf } from "../worker/shards/directory";
import { shardsOf } from "../worker/shards/shards";

/**
 * Direct reads of D1, for what the HTTP surface does not show: stored hashes, the event
 * log, and "nothing changed" checks. Tests write only through the API. A workspace's rows
 * are on its shard (worker/shards): reads go there, as the directory says.
 */

/** The D1 database of the workspace's shard. */
export async function shardDb(workspaceId: string): Promise<D1Database> {
  const shard = await shardOf(env, workspaceId);
  if (!shard) throw new Error(`workspace ${workspaceId} is in no shard`);
  return shard.d1;
}

const WORKSPACE_TABLES = {
  members: "id",
  members_by_label: "member_id, label",
  members_by_label_pair: "member_id, label, other",
  members_by_term: "term, member_id",
  labels: "slug",
  roles: "key",
  api_keys: "id",
  events: "seq",
} as const;

/** Every row the workspace owns, in a stable order: equal snapshots mean nothing changed. */
export async function snapshot(workspaceId: string) {
  const db = await shardDb(workspaceId);
  const statements = [
    db.prepare("select * from workspaces where id = ?").bind(workspaceId),
    ...Object.entries(WORKSPACE_TABLES).map(([table, order]) =>
      db.prepare(`select * from ${table} where workspace_id = ? order by ${order}`).bind(workspaceId),
    ),
  ];
  const results = await db.batch(statements);
  const tables = ["workspaces", ...Object.keys(WORKSPACE_TABLES)];
  return Object.fromEntries(tables.map((table, i) => [table, results[i]?.results ?? []]));
}

/** The seq of the workspace's last event (0 for none). */
export async function logHead(workspaceId: string): Promise<number> {
  const row = await (await shardDb(workspaceId))
    .prepare("select max(seq) as head from events where workspace_id = ?")
    .bind(workspaceId)
    .first<{ head: number | null }>();
  return row?.head ?? 0;
}

export type StoredEvent = { seq: number; type: string; data: unknown; actor: Actor };

/** The workspace's event log, oldest first. */
export async function eventsOf(workspaceId: string): Promise<StoredEvent[]> {
  const { results } = await (await shardDb(workspaceId))
    .prepare("select seq, type, data, actor from events where workspace_id = ? order by seq")
    .bind(workspaceId)
    .all<{ seq: number; type: string; data: string; actor: string }>();
  return results.map((row) => ({
    seq: row.seq,
    type: row.type,
    data: JSON.parse(row.data),
    actor: JSON.parse(row.actor),
  }));
}

/** Runs one SQL query on the workspace's shard, for assertions about stored rows. */
export async function rows<T = Record<string, unknown>>(
  workspaceId: string,
  query: string,
  ...params: unknown[]
): Promise<T[]> {
  const { results } = await (await shardDb(workspaceId))
    .prepare(query)
    .bind(...params)
    .all<T>();
  return results;
}

/** Runs one SQL query on every shard, its rows one after the other: "nothing anywhere" checks. */
export async function rowsOnEveryShard<T = Record<string, unknown>>(query: string, ...params: unknown[]): Promise<T[]> {
  const found: T[] = [];
  for (const { d1 } of shardsOf(env)) {
    const { results } = await d1
      .prepare(query)
      .bind(...params)
      .all<T>();
    found.push(...results);
  }
  return found;
}

/**
 * The test runtime's env, but every shard's D1 batch() goes through `hook`, with the batch's
 * number (1 for the first) and `send`, which runs it: a crash or a concurrent change at a
 * chosen point of a bulk job (an import's chunks, a label deletion's or a retype's batches).
 */
export function withBatches(hook: (n: number, send: () => Promise<D1Result[]>) => Promise<D1Result[]>): typeof env {
  let batches = 0;
  const hooked = (d1: D1Database) =>
    new Proxy(d1, {
      get: (target, key) => {
        if (key !== "batch") return Reflect.get(target, key).bind(target);
        return (statements: D1PreparedStatement[]) => hook(++batches, () => target.batch(statements));
      },
    });
  const shards = Object.fromEntries(shardsOf(env).map(({ index, d1 }) => [`SHARD_${index}`, hooked(d1)]));
  return { ...env, ...shards };
}

/** A worker that dies at its D1 batch `n + 1`: the first `n` batches commit, the next ones fail ("worker killed"). */
export const dyingAfter = (n: number) =>
  withBatches((i, send) => (i > n ? Promise.reject(new Error("worker killed")) : send()));

/** `meanwhile` runs once, right after D1's `n`th batch. */
export const afterBatch = (n: number, meanwhile: () => Promise<void>) =>
  withBatches(async (i, send) => {
    const results = await send();
    if (i === n) await meanwhile();
    return results;
  });

/** `meanwhile` runs once, right before the first batch: a change landing between a job's reads and its batch. */
export const beforeFirstBatch = (meanwhile: () => Promise<void>) =>
  withBatches(async (i, send) => {
    if (i === 1) await meanwhile();
    return send();
  });
