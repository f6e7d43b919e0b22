import { eq } from "drizzle-orm";
import type { Context } from "hono";
import { apiKeys } from "../api-keys/table";
import type { AppEnv, Caller } from "../app";
import { now } from "../events/append";
import { secretsEqual, sha256Hex } from "../lib/crypto";
import { ApiError } from "../lib/errors";
import { roleOfMember } from "../members/role-of";
import { members } from "../members/table";
import { workspaces } from "../platform/table";
import { conditionOf } from "../reach/customers";
import { narrow } from "../roles/scopes";
import { roles } from "../roles/table";
import { callerFromSession } from "../sessions/auth";
import { readSessionCookie } from "../sessions/cookie";
import { useShard } from "../shards/context";
import { belongsTo, shardOfToken } from "../shards/tokens";

const unauthorized = () =>
  new ApiError(401, "unauthorized", "Send a valid credential: Authorization: Bearer <api key>.");

export function bearer(c: Context<AppEnv>): string | undefined {
  const header = c.req.header("Authorization") ?? "";
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  return match?.[1];
}

/**
 * Resolves an API key to its caller: the key's scopes narrowed by its member's current
 * role. The key names its workspace, whose shard the request then uses (`c.var.db`).
 */
export async function callerFromApiKey(c: Context<AppEnv>, key: string): Promise<Caller> {
  const routed = await shardOfToken(c.env, key);
  if (!routed) throw unauthorized();
  useShard(c, routed.shard);
  const [row] = await c.var.db
    .select({
      keyId: apiKeys.id,
      keyName: apiKeys.name,
      memberName: members.name,
      workspaceId: apiKeys.workspaceId,
      memberId: apiKeys.memberId,
      keyScopes: apiKeys.scopes,
      expiresAt: apiKeys.expiresAt,
      revokedAt: apiKeys.revokedAt,
      status: members.status,
      // The role's type, not the member's copy of it, which follows a change of type in batches (worker/roles/retype.ts).
      type: roles.type,
      roleScopes: roles.scopes,
      condition: roles.condition,
      rateLimitPerMinute: workspaces.rateLimitPerMinute,
    })
    .from(apiKeys)
    .innerJoin(members, eq(members.id, apiKeys.memberId))
    .innerJoin(roles, roleOfMember)
    .innerJoin(workspaces, eq(workspaces.id, members.workspaceId))
    .where(eq(apiKeys.keyHash, await sha256Hex(key)));
  if (
    !row ||
    !belongsTo(routed, row.workspaceId) ||
    row.revokedAt ||
    row.expiresAt <= now() ||
    row.status !== "active"
  ) {
    throw unauthorized();
  }
  return {
    workspaceId: row.workspaceId,
    memberId: row.memberId,
    type: row.type,
    scopes: narrow(row.roleScopes, row.keyScopes),
    keyId: row.keyId,
    condition: conditionOf(row.type, row.condition),
    rateLimitPerMinute: row.rateLimitPerMinute,
    actor: { type: "member", id: row.memberId, name: row.memberName, key: { id: row.keyId, name: row.keyName } },
  };
}

/**
 * An API key when the request has an Authorization header (exactly as before sessions
 * existed), otherwise the session cookie a sign-in set.
 */
export async function authenticate(c: Context<AppEnv>): Promise<Caller> {
  if (c.req.header("Authorization") === undefined) {
    const session = readSessionCookie(c);
    if (session) return callerFromSession(c, session);
  }
  const key = bearer(c);
  if (!key) throw unauthorized();
  return callerFromApiKey(c, key);
}

export async function requirePlatformToken(c: Context<AppEnv>): Promise<void> {
  const token = bearer(c);
  if (!token || !(await secretsEqual(token, c.env.PLATFORM_TOKEN))) {
    throw new ApiError(401, "unauthorized", "This route needs the platform token.");
  }
}
