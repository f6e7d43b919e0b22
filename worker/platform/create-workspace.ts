import { eq } from "drizzle-orm";
import type * as v from "valibot";
import { issueApiKey } from "../api-keys/issue";
import { now } from "../events/append";
import type { Db } from "../lib/db";
import { ApiError } from "../lib/errors";
import { newId } from "../lib/ids";
import { createMember } from "../members/writes";
import { BUILT_IN_ROLES, MANAGER } from "../roles/builtin";
import { roles } from "../roles/table";
import type { CreateWorkspace } from "./schema";
import { workspaces } from "./table";

const YEAR = 365;

/**
 * Creates the workspace with its built-in roles, then its owner (a manager) through the
 * ordinary member path, so the owner's `member.created` is event 1 of the workspace.
 */
export async function createWorkspace(db: Db, input: v.InferOutput<typeof CreateWorkspace>) {
  const at = now();
  const workspace = { id: newId("ws"), slug: input.slug, name: input.name, allowJoinRequests: input.allowJoinRequests };
  const [inserted] = await db.batch([
    db
      .insert(workspaces)
      .values({ ...workspace, createdAt: at })
      .onConflictDoNothing()
      .returning({ id: workspaces.id }),
    ...BUILT_IN_ROLES.map((role) =>
      db
        .insert(roles)
        .values({ ...role, workspaceId: workspace.id, builtIn: true, condition: null, createdAt: at, updatedAt: at }),
    ),
  ]);
  if (inserted.length === 0) throw new ApiError(409, "slug_taken", `The slug "${input.slug}" is taken.`);
  const founder = { workspaceId: workspace.id, memberId: "", type: MANAGER.type, scopes: MANAGER.scopes };
  const owner = await createMember(db, founder, { ...input.owner, role: MANAGER.key, labels: [] });
  const issued = await issueApiKey(db, {
    workspaceId: workspace.id,
    memberId: owner.id,
    name: "Owner key",
    scopes: MANAGER.scopes,
    expiresInDays: YEAR,
  });
  await db.batch(issued.statements);
  return { workspace, owner, apiKey: issued.key, apiKeyInfo: issued.json };
}

export async function loadWorkspace(db: Db, id: string) {
  const [row] = await db.select().from(workspaces).where(eq(workspaces.id, id));
  if (!row) throw new ApiError(404, "not_found", "No such workspace.");
  const { createdAt: _, ...json } = row;
  return json;
}
