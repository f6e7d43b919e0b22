import { invalidField } from "../lib/errors";
import { type Shard, shardAt, shardsOf } from "./shards";

/** A shard and its size in bytes: D1 reports the database's size after every statement (`meta.size_after`). */
export async function shardSizes(env: Env): Promise<{ shard: Shard; bytes: number }[]> {
  return Promise.all(
    shardsOf(env).map(async (shard) => {
      const { meta } = await shard.d1.prepare("select 1").run();
      return { shard, bytes: meta.size_after ?? 0 };
    }),
  );
}

/**
 * Where a new workspace goes: the shard named (422 when there is no such shard), else the
 * one with the most room, i.e. the smallest (D1 caps each database's size, the same for all);
 * of equal ones, the first.
 */
export async function placeWorkspace(env: Env, requested?: number): Promise<Shard> {
  if (requested !== undefined) {
    const shard = shardAt(env, requested);
    if (!shard) {
      const known = shardsOf(env)
        .map((s) => s.index)
        .join(", ");
      throw invalidField("shard", `No shard ${requested}: the shards are ${known}.`);
    }
    return shard;
  }
  const sizes = await shardSizes(env);
  const smallest = sizes.reduce((a, b) => (b.bytes < a.bytes ? b : a));
  return smallest.shard;
}
