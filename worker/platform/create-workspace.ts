import { eq } from "drizzle-orm";
import type * as v from "valibot";
import { issueApiKey } from "../api-keys/issue";
import { now } from "../events/append";
import type { Db } from "../lib/db";
import { ApiError, notFound } from "../lib/errors";
import { newId } from "../lib/ids";
import { isUniqueViolation } from "../lib/sqlite-errors";
import { memberJson, parseMember } from "../members/json";
import { members } from "../members/table";
import { memberInsertion } from "../members/writes";
import { BUILT_IN_ROLES, MANAGER } from "../roles/builtin";
import { roles } from "../roles/table";
import type { CreateWorkspace } from "./schema";
import { workspaces } from "./table";

const YEAR = 365;

/**
 * Creates the workspace, its built-in roles, its owner (a manager, whose
 * `member.created` is event 1) and the owner's API key in one batch: all or nothing.
 */
export async function createWorkspace(db: Db, input: v.InferOutput<typeof CreateWorkspace>) {
  const at = now();
  const workspace = { id: newId("ws"), slug: input.slug, name: input.name, allowJoinRequests: input.allowJoinRequests };
  const ownerId = newId("mem");
  const issued = await issueApiKey(db, {
    workspaceId: workspace.id,
    memberId: ownerId,
    name: "Owner key",
    scopes: MANAGER.scopes,
    expiresInDays: YEAR,
  });
  const owner = { ...input.owner, id: ownerId, role: MANAGER.key, status: "active" as const };
  const results = await db
    .batch([
      db.insert(workspaces).values({ ...workspace, createdAt: at }),
      ...BUILT_IN_ROLES.map((role) =>
        db
          .insert(roles)
          .values({ ...role, workspaceId: workspace.id, builtIn: true, condition: null, createdAt: at, updatedAt: at }),
      ),
      ...memberInsertion(db, workspace.id, owner),
      ...issued.statements,
      db.select({ json: memberJson }).from(members).where(eq(members.id, ownerId)),
    ])
    .catch((err: unknown) => {
      if (isUniqueViolation(err, "workspaces", "slug")) {
        throw new ApiError(409, "slug_taken", `The slug "${input.slug}" is taken.`);
      }
      throw err;
    });
  const [created] = results[results.length - 1] as { json: string }[];
  if (!created) throw new Error("owner vanished inside its own batch");
  return { workspace, owner: parseMember(created.json), apiKey: issued.key, apiKeyInfo: issued.json };
}

export async function loadWorkspace(db: Db, id: string) {
  const [row] = await db.select().from(workspaces).where(eq(workspaces.id, id));
  if (!row) throw notFound("workspace");
  const { createdAt: _, ...json } = row;
  return json;
}
