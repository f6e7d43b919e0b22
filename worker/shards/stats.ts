import { shardsOf } from "./shards";

/**
 * What each shard holds, counted on the shard itself: its workspaces and members (a
 * workspace being moved counts on both shards until its old copy is removed) and its
 * size in bytes (`meta.size_after`).
 */
export async function shardStats(env: Env) {
  return Promise.all(
    shardsOf(env).map(async ({ index, d1 }) => {
      const [workspaces, members] = await d1.batch<{ n: number }>([
        d1.prepare("select count(*) as n from workspaces"),
        d1.prepare("select count(*) as n from members"),
      ]);
      return {
        shard: index,
        workspaces: workspaces?.results[0]?.n ?? 0,
        members: members?.results[0]?.n ?? 0,
        bytes: members?.meta.size_after ?? 0,
      };
    }),
  );
}
