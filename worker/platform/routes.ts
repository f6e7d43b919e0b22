import { eq } from "drizzle-orm";
import { router } from "../app";
import { route } from "../auth/route";
import { appendEvent } from "../events/append";
import { body } from "../lib/validate";
import { createWorkspace, loadWorkspace } from "./create-workspace";
import { CreatedWorkspace, CreateWorkspace, PatchWorkspace, WorkspaceJson } from "./schema";
import { workspaces as workspacesTable } from "./table";

export const workspaces = router().post(
  "/",
  route({
    summary: "Create a workspace with its owner (platform token)",
    tags: ["Platform"],
    auth: "platform",
    description:
      "The workspace goes to the shard named in `shard`, else to the shard with the most room (the fewest bytes). Its slug is unique across shards.",
    responses: {
      201: { description: "The workspace, its owner and the owner's API key", schema: CreatedWorkspace },
      409: { description: "`slug_taken`: another workspace has this slug" },
      422: { description: "`validation_failed`: fields that break the schema, or `shard` names no shard" },
    },
  }),
  body(CreateWorkspace),
  async (c) => c.json(await createWorkspace(c.env, c.req.valid("json")), 201),
);

const tags = ["Workspace"];
const workspace = { description: "The caller's workspace", schema: WorkspaceJson };

export const currentWorkspace = router()
  .get(
    "/",
    route({ summary: "The caller's workspace", tags, auth: "workspace:read", responses: { 200: workspace } }),
    async (c) => c.json(await loadWorkspace(c.var.db, c.var.caller.workspaceId, c.var.shard.index)),
  )
  .patch(
    "/",
    route({
      summary: "Edit the workspace",
      tags,
      auth: "workspace:admin",
      description:
        "`rateLimitPerMinute` sets how many requests each credential (each API key, each session) may make a minute; it applies from the next request. " +
        "`eventRetentionDays` keeps events that many days (null: forever); the hourly sweep deletes older ones, except the latest event and those an action or a pending delivery still needs.",
      responses: { 200: workspace, 422: { description: "`validation_failed`: fields that break the schema" } },
    }),
    body(PatchWorkspace),
    async (c) => {
      const ws = c.var.caller.workspaceId;
      const db = c.var.db;
      const input = c.req.valid("json");
      // An empty edit changes nothing, so it appends no event (and drizzle refuses an empty SET).
      if (Object.values(input).every((value) => value === undefined)) {
        return c.json(await loadWorkspace(db, ws, c.var.shard.index));
      }
      await db.batch([
        db.update(workspacesTable).set(input).where(eq(workspacesTable.id, ws)),
        appendEvent(db, ws, "workspace.updated", input),
      ]);
      return c.json(await loadWorkspace(db, ws, c.var.shard.index));
    },
  );
