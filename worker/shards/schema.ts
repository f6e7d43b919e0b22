import * as v from "valibot";

export const ShardIndex = v.pipe(
  v.number(),
  v.integer(),
  v.minValue(0),
  v.description("A shard: the n of its binding SHARD_<n> (GET /v1/platform/shards lists them)"),
);

export const ShardJson = v.object({
  shard: ShardIndex,
  workspaces: v.pipe(v.number(), v.description("Workspaces whose rows are on the shard")),
  members: v.pipe(v.number(), v.description("Members stored on the shard, of every workspace and status")),
  bytes: v.pipe(v.number(), v.description("The database's size (D1's meta.size_after)")),
});

export const ShardList = v.object({ data: v.array(ShardJson) });
