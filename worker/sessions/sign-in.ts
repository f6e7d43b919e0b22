import { and, eq, gt, isNull, type SQL, sql } from "drizzle-orm";
import type { Context } from "hono";
import type { AppEnv } from "../app";
import { appendEvent, now } from "../events/append";
import { secretsEqual, sha256Hex } from "../lib/crypto";
import type { Db } from "../lib/db";
import { ApiError } from "../lib/errors";
import { newId } from "../lib/ids";
import { insertWhere } from "../lib/insert-where";
import { memberJson, parseMember } from "../members/json";
import type { Member } from "../members/schema";
import { members } from "../members/table";
import { useShard } from "../shards/context";
import { belongsTo, routedToken, shardOfToken } from "../shards/tokens";
import { SESSION_DAYS } from "./cookie";
import { sessions, signInLinks } from "./table";
import { requireTokenShape, TOKEN_PREFIX } from "./tokens";

export const SIGN_IN_LINK_MINUTES = 15;
const DAY_MS = 86_400_000;

/**
 * Issues a sign-in link for an active member of the workspace, or nothing at all: the
 * caller answers the same either way, so the answer reveals no membership.
 */
export async function issueSignInLink(db: Db, workspaceId: string, email: string) {
  const [member] = await db
    .select({ id: members.id, workspaceId: members.workspaceId, name: members.name })
    .from(members)
    .where(and(eq(members.workspaceId, workspaceId), eq(members.email, email), eq(members.status, "active")));
  if (!member) return undefined;
  const token = routedToken(TOKEN_PREFIX.signIn, member.workspaceId);
  const at = now();
  const expiresAt = new Date(Date.parse(at) + SIGN_IN_LINK_MINUTES * 60_000).toISOString();
  await db.insert(signInLinks).values({
    tokenHash: await sha256Hex(token),
    workspaceId: member.workspaceId,
    memberId: member.id,
    expiresAt,
    createdAt: at,
  });
  return { token, member, expiresAt };
}

/** Opens a session: the statements for the caller's batch, guarded by `condition`. */
export async function openSession(
  db: Db,
  args: { workspaceId: string; memberId: string; sessionId: string; condition: SQL },
) {
  const token = routedToken(TOKEN_PREFIX.session, args.workspaceId);
  const at = now();
  const statements = [
    insertWhere(
      db,
      sessions,
      {
        id: args.sessionId,
        workspaceId: args.workspaceId,
        memberId: args.memberId,
        tokenHash: await sha256Hex(token),
        createdAt: at,
        expiresAt: new Date(Date.parse(at) + SESSION_DAYS * DAY_MS).toISOString(),
      },
      args.condition,
    ),
    appendEvent(
      db,
      args.workspaceId,
      "session.created",
      // The member too: the live stream judges by it whom a role condition lets see the event.
      sql`json_object('session', json_object('id', ${sessions.id}, 'memberId', ${sessions.memberId}),
        'member', json(${memberJson}))`,
      {
        from: sql`${sessions} join ${members} on ${members.id} = ${sessions.memberId} where ${sessions.id} = ${args.sessionId}`,
        // Whoever signs in has just proved to be the member (worker/events/actor.ts).
        actor: { type: "member", id: args.memberId },
      },
    ),
  ] as const;
  return { token, statements };
}

/**
 * Redeems a sign-in link once. The guarded UPDATE (`used_at is null`) lets exactly one
 * of racing verifications through; the session insert only follows the one that
 * stamped its own session id on the link.
 */
export async function verifySignInLink(
  c: Context<AppEnv>,
  token: string,
): Promise<{ member: Member; workspaceId: string; sessionToken: string }> {
  requireTokenShape("signIn", token);
  const unknown = () => new ApiError(404, "unknown_token", "This sign-in link is not valid; ask for a new one.");
  const routed = await shardOfToken(c.env, token);
  if (!routed) throw unknown();
  useShard(c, routed.shard);
  const db = c.var.db;
  const hash = await sha256Hex(token);
  const [link] = await db.select().from(signInLinks).where(eq(signInLinks.tokenHash, hash));
  if (!link || !belongsTo(routed, link.workspaceId) || !(await secretsEqual(link.tokenHash, hash))) throw unknown();
  const at = now();
  const refuse = (current: typeof link) => {
    if (current.usedAt) return new ApiError(409, "link_used", "This sign-in link was already used; ask for a new one.");
    if (current.expiresAt <= at)
      return new ApiError(410, "link_expired", "This sign-in link expired; ask for a new one.");
    return new ApiError(403, "member_not_active", "This member cannot sign in.");
  };
  if (link.usedAt || link.expiresAt <= at) throw refuse(link);
  const sessionId = newId("ses");
  const mine = sql`exists (select 1 from ${signInLinks} where ${signInLinks.tokenHash} = ${hash} and ${signInLinks.sessionId} = ${sessionId})`;
  const session = await openSession(db, {
    workspaceId: link.workspaceId,
    memberId: link.memberId,
    sessionId,
    condition: mine,
  });
  const [used, , , after] = await db.batch([
    db
      .update(signInLinks)
      .set({ usedAt: at, sessionId })
      .where(
        and(
          eq(signInLinks.tokenHash, hash),
          isNull(signInLinks.usedAt),
          gt(signInLinks.expiresAt, at),
          sql`exists (select 1 from ${members} where ${members.id} = ${signInLinks.memberId} and ${members.status} = 'active')`,
        ),
      ),
    ...session.statements,
    db.select({ json: memberJson }).from(members).where(eq(members.id, link.memberId)),
  ]);
  const row = after[0];
  if (used.meta.changes === 0 || !row) {
    const [current] = await db.select().from(signInLinks).where(eq(signInLinks.tokenHash, hash));
    throw refuse(current ?? link);
  }
  return { member: parseMember(row.json), workspaceId: link.workspaceId, sessionToken: session.token };
}

/** Ends the session behind a cookie token, if it is live. */
export async function endSession(c: Context<AppEnv>, token: string) {
  const routed = await shardOfToken(c.env, token);
  if (!routed) return undefined;
  useShard(c, routed.shard);
  const db = c.var.db;
  const hash = await sha256Hex(token);
  const [session] = await db
    .select({ id: sessions.id, workspaceId: sessions.workspaceId, memberId: sessions.memberId })
    .from(sessions)
    .where(and(eq(sessions.tokenHash, hash), isNull(sessions.endedAt)));
  if (!session || !belongsTo(routed, session.workspaceId)) return undefined;
  await db.batch([
    db
      .update(sessions)
      .set({ endedAt: now() })
      .where(and(eq(sessions.id, session.id), isNull(sessions.endedAt))),
    appendEvent(
      db,
      session.workspaceId,
      "session.ended",
      sql`json_object('session', json_object('id', ${sessions.id}), 'member', json(${memberJson}))`,
      {
        from: sql`${sessions} join ${members} on ${members.id} = ${sessions.memberId} where ${sessions.id} = ${session.id}`,
        onlyIfChanged: true,
        // The session's own token ends it: its member.
        actor: { type: "member", id: session.memberId },
      },
    ),
  ]);
  return session.workspaceId;
}
