/**
 * The shard pool: D1 bindings named SHARD_<n> (wrangler.toml), each holding every row of
 * its workspaces. Adding a shard is a binding and `npm run db:migrate`: the list is read
 * from the env, never written down twice.
 */
export type Shard = { index: number; d1: D1Database };

const SHARD_BINDING = /^SHARD_(\d+)$/;

/** Every shard of the env, by index. */
export function shardsOf(env: Env): Shard[] {
  const found: Shard[] = [];
  for (const [name, binding] of Object.entries(env)) {
    const match = SHARD_BINDING.exec(name);
    if (match) found.push({ index: Number(match[1]), d1: binding as D1Database });
  }
  return found.sort((a, b) => a.index - b.index);
}

/** The shard of binding SHARD_<index>, if the env has it. */
export function shardAt(env: Env, index: number): Shard | undefined {
  const d1 = (env as unknown as Record<string, D1Database | undefined>)[`SHARD_${index}`];
  return d1 ? { index, d1 } : undefined;
}

/**
 * Shard 0: the database every workspace made before shards lives on (binding DB before),
 * where credentials issued before tokens carried their workspace are looked up.
 */
export function firstShard(env: Env): Shard {
  return { index: 0, d1: env.SHARD_0 };
}
