import { and, eq, gt, isNull } from "drizzle-orm";
import type { Context } from "hono";
import type { AppEnv, Caller } from "../app";
import { now } from "../events/append";
import { sha256Hex } from "../lib/crypto";
import { ApiError } from "../lib/errors";
import { roleOfMember } from "../members/role-of";
import { members } from "../members/table";
import { workspaces } from "../platform/table";
import { conditionOf } from "../reach/customers";
import { roles } from "../roles/table";
import { useShard } from "../shards/context";
import { belongsTo, shardOfToken } from "../shards/tokens";
import { requireSameOrigin } from "./cookie";
import { sessions } from "./table";

/**
 * Resolves a session cookie to its caller: the member's role decides the scopes. The
 * member must still be active (archiving also ends sessions, by a trigger). The token
 * names its workspace, whose shard the request then uses (`c.var.db`).
 */
export async function callerFromSession(c: Context<AppEnv>, token: string): Promise<Caller> {
  const ended = () => new ApiError(401, "unauthorized", "Your session has ended; sign in again.");
  const routed = await shardOfToken(c.env, token);
  if (!routed) throw ended();
  useShard(c, routed.shard);
  const [row] = await c.var.db
    .select({
      sessionId: sessions.id,
      workspaceId: sessions.workspaceId,
      memberId: sessions.memberId,
      memberName: members.name,
      // The role's type, not the member's copy of it, which follows a change of type in batches (worker/roles/retype.ts).
      type: roles.type,
      scopes: roles.scopes,
      condition: roles.condition,
      rateLimitPerMinute: workspaces.rateLimitPerMinute,
    })
    .from(sessions)
    .innerJoin(members, eq(members.id, sessions.memberId))
    .innerJoin(roles, roleOfMember)
    .innerJoin(workspaces, eq(workspaces.id, members.workspaceId))
    .where(
      and(
        eq(sessions.tokenHash, await sha256Hex(token)),
        isNull(sessions.endedAt),
        gt(sessions.expiresAt, now()),
        eq(members.status, "active"),
      ),
    );
  if (!row || !belongsTo(routed, row.workspaceId)) throw ended();
  requireSameOrigin(c);
  const { memberName, ...caller } = row;
  return {
    ...caller,
    condition: conditionOf(row.type, row.condition),
    actor: { type: "member", id: row.memberId, name: memberName },
  };
}
