import * as v from "valibot";
import { ShardIndex } from "../shards/schema";
import { MOVE_STATUSES } from "./directory-table";

export const MoveWorkspace = v.strictObject({ shard: ShardIndex });

export const StartedMove = v.object({
  id: v.pipe(v.string(), v.description("The move's id, for GET /v1/platform/moves/{id}")),
  status: v.literal("running"),
});

export const MoveJson = v.object({
  id: v.string(),
  workspaceId: v.string(),
  from: v.pipe(ShardIndex, v.description("The shard the workspace lived on")),
  to: v.pipe(ShardIndex, v.description("The shard it moves to")),
  status: v.pipe(
    v.picklist(MOVE_STATUSES),
    v.description("`completed` once the workspace is served from `to` (its old copy is removed after a grace period)"),
  ),
  copied: v.pipe(v.number(), v.description("Rows copied to `to` so far")),
  total: v.pipe(v.number(), v.description("Rows the workspace had when the move started")),
  error: v.pipe(v.nullable(v.string()), v.description("Why a failed move was given up")),
  finishedAt: v.pipe(
    v.nullable(v.string()),
    v.description("When nothing was left to do: the old copy removed, or a failed move rolled back; null until then"),
  ),
});
