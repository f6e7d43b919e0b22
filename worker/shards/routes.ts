import { router } from "../app";
import { route } from "../auth/route";
import { ShardList } from "./schema";
import { shardStats } from "./stats";

/** Mounted under /v1/platform/shards. */
export const shardRoutes = router().get(
  "/",
  route({
    summary: "Every shard: its workspaces, members and bytes (platform token)",
    description:
      "Counted on each shard: a workspace being moved counts on both until its old copy is removed. A new workspace goes to the shard with the fewest bytes unless POST /v1/workspaces names one.",
    tags: ["Platform"],
    auth: "platform",
    responses: { 200: { description: "Each shard (binding SHARD_<n>), by n", schema: ShardList } },
  }),
  async (c) => c.json({ data: await shardStats(c.env) }),
);
