import { router } from "../app";
import { route } from "../auth/route";
import { body } from "../lib/validate";
import { loadMove, requestMove } from "./drive";
import { MoveJson, MoveWorkspace, StartedMove } from "./schema";

const tags = ["Platform"];

/** Mounted under /v1/platform/workspaces. */
export const moveRoutes = router().post(
  "/:id/move",
  route({
    summary: "Move a workspace to another shard, online (platform token)",
    description:
      "Copies the workspace's rows to `shard` in bounded steps while it keeps serving, then switches: writes that arrive during the switch are retried on the new shard or answer 503 `workspace_moved` with Retry-After. Events keep their seqs. Follow it with GET /v1/platform/moves/{id}.",
    tags,
    auth: "platform",
    responses: {
      202: { description: "The move started", schema: StartedMove },
      404: { description: "`not_found`: no such workspace" },
      409: { description: "`move_running`: a move of the workspace runs; `already_on_shard`: it lives there" },
      422: { description: "`validation_failed`: `shard` names no shard" },
    },
  }),
  body(MoveWorkspace),
  async (c) => {
    const move = await requestMove(c.env, c.req.param("id"), c.req.valid("json").shard);
    return c.json({ id: move.id, status: "running" as const }, 202);
  },
);

/** Mounted under /v1/platform/moves. */
export const moveStatusRoutes = router().get(
  "/:id",
  route({
    summary: "A move's progress (platform token)",
    tags,
    auth: "platform",
    responses: {
      200: { description: "The move", schema: MoveJson },
      404: { description: "`not_found`: no such move" },
    },
  }),
  async (c) => c.json(await loadMove(c.env, c.req.param("id"))),
);
