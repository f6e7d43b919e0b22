import * as v from "valibot";

const Phase = v.picklist(["none", "copy-members", "copy-events", "swap", "cleanup", "done"]);
export const ShardProgress = v.object({
  shard: v.pipe(v.number(), v.description("The n of the shard's binding, SHARD_<n>")),
  name: v.string(),
  phase: Phase,
  copied: v.number(),
  done: v.boolean(),
});
export const UpgradeProgress = v.object({
  name: v.string(),
  phase: v.pipe(Phase, v.description("The least advanced shard's phase")),
  copied: v.pipe(v.number(), v.description("Rows copied, summed over the shards")),
  done: v.pipe(
    v.boolean(),
    v.description("Every shard's upgrade is done, and every workspace of shard 0 is in the directory"),
  ),
  shards: v.pipe(v.array(ShardProgress), v.description("Each shard's upgrade: shards upgrade at once, each its own")),
  registration: v.pipe(
    v.object({ registered: v.number(), done: v.boolean() }),
    v.description(
      "The workspaces made on shard 0 before the directory existed, registered in it (until done, one missing is looked for on shard 0)",
    ),
  ),
});
