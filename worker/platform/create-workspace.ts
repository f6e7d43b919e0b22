import { eq } from "drizzle-orm";
import type * as v from "valibot";
import { issueApiKey } from "../api-keys/issue";
import { now } from "../events/append";
import { type Db, database } from "../lib/db";
import { ApiError, notFound } from "../lib/errors";
import { newId } from "../lib/ids";
import { isUniqueViolation } from "../lib/sqlite-errors";
import { memberJson, parseMember } from "../members/json";
import { members } from "../members/table";
import { memberInsertion } from "../members/writes";
import { BUILT_IN_ROLES, MANAGER } from "../roles/builtin";
import { roles } from "../roles/table";
import { registerWorkspace, unregisterWorkspace } from "../shards/directory";
import { placeWorkspace } from "../shards/placement";
import type { CreateWorkspace, WorkspaceJson } from "./schema";
import { workspaces } from "./table";

const YEAR = 365;

const slugTaken = (slug: string) => new ApiError(409, "slug_taken", `The slug "${slug}" is taken.`);

/**
 * Creates the workspace on its shard (the one named, else the one with the most room):
 * first its directory row, which claims the slug across shards, then one batch on the
 * shard with the workspace, its built-in roles, its owner (a manager, whose
 * `member.created` is event 1) and the owner's API key: all or nothing. If that batch
 * fails, the directory row is removed.
 */
export async function createWorkspace(env: Env, input: v.InferOutput<typeof CreateWorkspace>) {
  const shard = await placeWorkspace(env, input.shard);
  const at = now();
  const workspace = {
    id: newId("ws"),
    slug: input.slug,
    name: input.name,
    allowJoinRequests: input.allowJoinRequests,
    rateLimitPerMinute: input.rateLimitPerMinute,
    eventRetentionDays: input.eventRetentionDays,
  };
  await registerWorkspace(env, { id: workspace.id, slug: workspace.slug, shard: shard.index, createdAt: at }).catch(
    (err: unknown) => {
      if (isUniqueViolation(err, "workspaces", "slug")) throw slugTaken(input.slug);
      throw err;
    },
  );
  try {
    return await createOnShard(database(shard.d1), { ...workspace, shard: shard.index }, input, at);
  } catch (err) {
    await unregisterWorkspace(env, workspace.id);
    throw err;
  }
}

async function createOnShard(
  db: Db,
  { shard, ...workspace }: v.InferOutput<typeof WorkspaceJson>,
  input: v.InferOutput<typeof CreateWorkspace>,
  at: string,
) {
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
      if (isUniqueViolation(err, "workspaces", "slug")) throw slugTaken(input.slug);
      throw err;
    });
  const [created] = results[results.length - 1] as { json: string }[];
  if (!created) throw new Error("owner vanished inside its own batch");
  return {
    workspace: { ...workspace, shard },
    owner: parseMember(created.json),
    apiKey: issued.key,
    apiKeyInfo: issued.json,
  };
}

/** The workspace's JSON, with the shard it is on (`c.var.shard`). */
export async function loadWorkspace(db: Db, id: string, shard: number) {
  const [row] = await db.select().from(workspaces).where(eq(workspaces.id, id));
  if (!row) throw notFound("workspace");
  const { createdAt: _, ...json } = row;
  return { ...json, shard };
}
