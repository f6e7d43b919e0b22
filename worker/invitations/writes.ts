import { and, eq, inArray, or, type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Context } from "hono";
import type * as v from "valibot";
import type { AppEnv, Caller } from "../app";
import { appendEvent, now } from "../events/append";
import { secretsEqual, sha256Hex } from "../lib/crypto";
import type { Db } from "../lib/db";
import { ApiError, notFound } from "../lib/errors";
import { newId } from "../lib/ids";
import { insertWhere } from "../lib/insert-where";
import { isUniqueViolation } from "../lib/sqlite-errors";
import { memberJson, parseMember } from "../members/json";
import {
  assertOutranks,
  assertOutranksMember,
  assignableRole,
  duplicate,
  outranksMemberSql,
  parsePhoneField,
} from "../members/rules";
import type { Member } from "../members/schema";
import { type MemberRow, members } from "../members/table";
import {
  forbiddenByCondition,
  guardStaysInReach,
  memberInReach,
  type Reach,
  type ReachFilter,
  reachable,
  reaches,
  reachFilter,
  reachOf,
} from "../reach/reach";
import { openSession } from "../sessions/sign-in";
import { requireTokenShape, TOKEN_PREFIX } from "../sessions/tokens";
import { useShard } from "../shards/context";
import { belongsTo, routedToken, shardOfToken } from "../shards/tokens";
import { invitationJson, parseInvitation } from "./json";
import type { CreateInvitation, Invitation } from "./schema";
import { type InvitationRow, invitationLinks, invitations } from "./table";

export const INVITATION_DAYS = 7;
const DAY_MS = 86_400_000;
const expiry = (at: string) => new Date(Date.parse(at) + INVITATION_DAYS * DAY_MS).toISOString();

type Statement = BatchItem<"sqlite">;
const always = sql`1`;
const memberIs = (id: string, status: string) =>
  sql`exists (select 1 from ${members} where ${members.id} = ${id} and ${members.status} = ${status})`;
/** Invitations with their members, for an event's `from`: those `where` holds for. */
const invitationsWhere = (where: SQL | undefined) =>
  sql`${invitations} join ${members} on ${members.id} = ${invitations.memberId} where ${where}`;
const fromInvitation = (id: string) => invitationsWhere(eq(invitations.id, id));
/** Event data of invitation events: the invitation and its member, as committed. */
const eventData = (at: string) =>
  sql`json_object('invitation', json(${invitationJson(at)}), 'member', json(${memberJson}))`;
const selectInvitation = (db: Db, id: string, at: string) =>
  db
    .select({ json: invitationJson(at) })
    .from(invitations)
    .where(eq(invitations.id, id));

/** What a created or resent invitation must deliver: the link goes out after the batch commits. */
export type Delivery = {
  workspaceId: string;
  /** The invitee: the outbox judges by their role who may read the link. */
  memberId: string;
  channel: "email" | "sms";
  to: string;
  name: string;
  token: string;
};

export type PlannedInvitation = {
  id: string;
  memberId: string;
  statements: [Statement, ...Statement[]];
  delivery: Delivery;
};

/**
 * The statements that invite someone, for the caller's batch: a new member with status
 * "invited" (or an archived one brought back as invited), the invitation, its link's
 * hash and the events. Every insert and update also requires `condition`, so a caller
 * (approving a join request) can make the invitation depend on its own guarded update.
 * Under a role condition the invitee must be in the caller's reach before (an existing
 * member) and after: otherwise 403 `forbidden_by_condition`, the batch failing whole.
 */
export async function planInvitation(
  db: Db,
  caller: Caller,
  input: v.InferOutput<typeof CreateInvitation> & { joinRequestId?: string },
  options: { id?: string; condition?: SQL } = {},
): Promise<PlannedInvitation> {
  const condition = options.condition ?? always;
  const ws = caller.workspaceId;
  const { phone, phoneNational } = parsePhoneField(input.phone);
  const email = input.email ?? null;
  const role = await assignableRole(db, caller, input.role);
  const reach = await reachOf(db, caller);
  const existing = await findInvitee(db, ws, email, phone, reach);
  // Bringing a member back (as re-inviting an archived one does) is acting on them.
  if (existing) await assertOutranks(db, caller, existing.role);
  const at = now();
  const id = options.id ?? newId("inv");
  const memberId = existing?.id ?? newId("mem");
  const within = reachable(reach, memberId);
  const name = input.name ?? existing?.name ?? email?.split("@")[0] ?? phone ?? "Invitee";
  const token = routedToken(TOKEN_PREFIX.invitation, ws);
  const tokenHash = await sha256Hex(token);
  const memberStatements: [Statement, Statement] = existing
    ? [
        db
          .update(members)
          .set({ status: "invited", role: role.key, type: role.type, updatedAt: at })
          .where(
            and(
              eq(members.id, existing.id),
              inArray(members.status, ["archived", "invited"]),
              sql`not exists (select 1 from ${invitations} where ${invitations.memberId} = ${existing.id}
              and ${invitations.status} = 'pending')`,
              condition,
              within,
            ),
          ),
        appendEvent(db, ws, "member.updated", sql`json_object('member', json(${memberJson}))`, {
          from: sql`${members} where ${members.id} = ${existing.id}`,
          onlyIfChanged: true,
        }),
      ]
    : [
        insertWhere(
          db,
          members,
          {
            id: memberId,
            workspaceId: ws,
            name,
            email,
            phone,
            phoneNational,
            externalId: null,
            description: null,
            role: role.key,
            type: role.type,
            status: "invited",
            labels: [],
            createdAt: at,
            updatedAt: at,
          },
          condition,
        ),
        appendEvent(db, ws, "member.created", sql`json_object('member', json(${memberJson}))`, {
          from: sql`${members} where ${members.id} = ${memberId}`,
        }),
      ];
  const channel = email ? "email" : "sms";
  const statements: [Statement, ...Statement[]] = [
    ...memberStatements,
    ...guardStaysInReach(db, reach, memberId),
    insertWhere(
      db,
      invitations,
      {
        id,
        workspaceId: ws,
        memberId,
        channel,
        email,
        phone,
        role: role.key,
        status: "pending",
        tokenHash,
        expiresAt: expiry(at),
        sentAt: at,
        invitedBy: caller.memberId || null,
        joinRequestId: input.joinRequestId ?? null,
        createdAt: at,
        updatedAt: at,
      },
      and(condition, memberIs(memberId, "invited"), within && memberInReach(within, memberId)) ?? condition,
    ),
    insertWhere(
      db,
      invitationLinks,
      { tokenHash, invitationId: id, createdAt: at },
      sql`exists (select 1 from ${invitations} where ${invitations.id} = ${id})`,
    ),
    appendEvent(db, ws, "invitation.created", eventData(at), { from: fromInvitation(id) }),
  ];
  const to = email ?? phone;
  if (!to) throw new Error("an invitation needs an email or a phone");
  return { id, memberId, statements, delivery: { workspaceId: ws, memberId, channel, to, name, token } };
}

/**
 * The member an invitation would reach, refusing those who are members already. One out
 * of the caller's reach is refused as a member they may not act on, naming nobody.
 */
async function findInvitee(db: Db, ws: string, email: string | null, phone: string | null, reach: Reach) {
  const matches = [email ? eq(members.email, email) : undefined, phone ? eq(members.phone, phone) : undefined];
  const found = await db
    .select()
    .from(members)
    .where(and(eq(members.workspaceId, ws), or(...matches)));
  const [first, second] = found;
  if (!first) return undefined;
  if (found.some((member) => !reaches(reach, member))) throw forbiddenByCondition();
  if (second) throw duplicate(second.id);
  if (first.status === "archived" || first.status === "invited") {
    const [pending] = await db
      .select({ id: invitations.id })
      .from(invitations)
      .where(and(eq(invitations.memberId, first.id), eq(invitations.status, "pending")));
    if (pending) throw alreadyInvited(pending.id);
    // The link goes to the email when one is given: a member found by the phone alone does
    // not hold that address, and accepting would hand their record to whoever does.
    if (email && first.email !== email) throw identifierConflict(first);
    return first;
  }
  throw new ApiError(409, "already_member", `This person is already a member (${first.status}).`, {
    existingId: first.id,
  });
}

const identifierConflict = (member: MemberRow) =>
  new ApiError(
    409,
    "identifier_conflict",
    `This phone belongs to an ${member.status} member whose email is ${member.email ? "another one" : "not set"}: invite them by their phone alone, or by their own email.`,
    { existingId: member.id },
  );

const alreadyInvited = (invitationId: string) =>
  new ApiError(409, "already_invited", "This person has a pending invitation; resend it instead.", {
    existingId: invitationId,
  });

/**
 * Runs an invitation batch. A unique index refuses what a racing write took first: the
 * member's email or phone (409 duplicate), or a second pending invitation (409).
 */
export async function commitInvitation<T>(db: Db, ws: string, write: () => Promise<T>, plan: PlannedInvitation) {
  try {
    return await write();
  } catch (err) {
    if (isUniqueViolation(err, "invitations", "member_id")) {
      const [pending] = await db
        .select({ id: invitations.id })
        .from(invitations)
        .where(and(eq(invitations.memberId, plan.memberId), eq(invitations.status, "pending")));
      throw alreadyInvited(pending?.id ?? plan.id);
    }
    if (isUniqueViolation(err, "members")) {
      const [taken] = await db
        .select({ id: members.id })
        .from(members)
        .where(and(eq(members.workspaceId, ws), eq(members.id, plan.memberId)));
      throw taken
        ? alreadyInvited(plan.id)
        : new ApiError(409, "duplicate", "Someone took this email or phone meanwhile.");
    }
    throw err;
  }
}

export async function createInvitation(
  db: Db,
  caller: Caller,
  input: v.InferOutput<typeof CreateInvitation>,
): Promise<{ invitation: Invitation; delivery: Delivery }> {
  const plan = await planInvitation(db, caller, input);
  const at = now();
  const results = await commitInvitation(
    db,
    caller.workspaceId,
    () => db.batch([...plan.statements, selectInvitation(db, plan.id, at)]),
    plan,
  );
  const rows = results[results.length - 1] as { json: string }[];
  const row = rows[0];
  if (!row) throw new ApiError(409, "already_invited", "This person was invited meanwhile.");
  return { invitation: parseInvitation(row.json), delivery: plan.delivery };
}

/** The invitation; 404 as if absent when its invitee is out of the caller's reach (`within`). */
async function loadInvitation(db: Db, ws: string, id: string, within?: ReachFilter): Promise<InvitationRow> {
  const [row] = await db
    .select({ invitation: invitations })
    .from(invitations)
    .innerJoin(members, eq(members.id, invitations.memberId))
    .where(and(eq(invitations.workspaceId, ws), eq(invitations.id, id), within?.()));
  if (!row) throw notFound("invitation");
  return row.invitation;
}

/** The caller's reach, for the invitation's reads and (on its invitee) its guarded writes. */
async function callerReach(db: Db, caller: Caller) {
  const reach = await reachOf(db, caller);
  return { reach, within: reachFilter(reach) };
}

const closed = (row: InvitationRow) =>
  row.status === "accepted"
    ? new ApiError(409, "invitation_used", "This invitation was already accepted.")
    : new ApiError(409, "invitation_revoked", "This invitation was revoked.");

/**
 * A new link and a new 7 days; the old link's hash is replaced, so it no longer works.
 * It goes to the invitee's address now, which a confirmed credential change may have
 * moved since the last send, and the invitation records where it went.
 */
export async function resendInvitation(db: Db, caller: Caller, id: string) {
  const ws = caller.workspaceId;
  const { reach, within } = await callerReach(db, caller);
  const current = await loadInvitation(db, ws, id, within);
  if (current.status !== "pending") throw closed(current);
  const invitee = reachable(reach, current.memberId);
  const [member] = await db.select().from(members).where(eq(members.id, current.memberId));
  if (member) await assertOutranks(db, caller, member.role);
  if (member?.status !== "invited") throw new ApiError(409, "invitation_revoked", "The invitee is no longer invited.");
  const token = routedToken(TOKEN_PREFIX.invitation, ws);
  const tokenHash = await sha256Hex(token);
  const at = now();
  // The invitee's address as the batch finds it (a credential change may land meanwhile).
  const addressNow = (theirs: SQL, kept: SQL) =>
    sql`coalesce((select ${theirs} from ${members} where ${members.id} = ${current.memberId}), ${kept})`;
  const email = addressNow(sql`${members.email}`, sql`${invitations.email}`);
  const phone = addressNow(sql`${members.phone}`, sql`${invitations.phone}`);
  const [updated, , , after] = await db.batch([
    db
      .update(invitations)
      .set({ tokenHash, email, phone, expiresAt: expiry(at), sentAt: at, updatedAt: at })
      .where(
        and(
          eq(invitations.id, id),
          eq(invitations.status, "pending"),
          eq(invitations.tokenHash, current.tokenHash),
          outranksMemberSql(caller.scopes, current.memberId),
          invitee && memberInReach(invitee, current.memberId),
        ),
      ),
    appendEvent(db, ws, "invitation.resent", eventData(at), { from: fromInvitation(id), onlyIfChanged: true }),
    insertWhere(
      db,
      invitationLinks,
      { tokenHash, invitationId: id, createdAt: at },
      sql`exists (select 1 from ${invitations} where ${invitations.id} = ${id} and ${invitations.tokenHash} = ${tokenHash})`,
    ),
    selectInvitation(db, id, at),
  ]);
  const row = after[0];
  if (updated.meta.changes === 0 || !row) {
    await assertOutranksMember(db, caller, current.memberId);
    throw closed(await loadInvitation(db, ws, id, within));
  }
  const invitation = parseInvitation(row.json);
  const delivery: Delivery = {
    workspaceId: ws,
    memberId: current.memberId,
    channel: current.channel,
    to: (current.channel === "email" ? invitation.email : invitation.phone) ?? "",
    name: member.name,
    token,
  };
  return { invitation, delivery };
}

/**
 * For the batch of a member's archiving: revokes their pending invitation, if any, with
 * invitation.revoked, so that it no longer shows as pending, cannot be resent, and does
 * not stand in the way of a new one. Only once the member is archived as the batch left them.
 */
export function revokePendingOf(db: Db, ws: string, memberId: string, at: string) {
  return [
    db
      .update(invitations)
      .set({ status: "revoked", revokedAt: at, updatedAt: at })
      .where(
        and(eq(invitations.memberId, memberId), eq(invitations.status, "pending"), memberIs(memberId, "archived")),
      ),
    appendEvent(db, ws, "invitation.revoked", eventData(at), {
      from: invitationsWhere(and(eq(invitations.memberId, memberId), eq(invitations.revokedAt, at))),
      onlyIfChanged: true,
    }),
  ] as const;
}

/** Revokes a pending invitation; the invitee, never having joined, is archived. */
export async function revokeInvitation(db: Db, caller: Caller, id: string): Promise<Invitation> {
  const ws = caller.workspaceId;
  const { reach, within } = await callerReach(db, caller);
  const current = await loadInvitation(db, ws, id, within);
  if (current.status !== "pending") throw closed(current);
  await assertOutranksMember(db, caller, current.memberId);
  const invitee = reachable(reach, current.memberId);
  const at = now();
  const results = await db.batch([
    db
      .update(invitations)
      .set({ status: "revoked", revokedAt: at, updatedAt: at })
      .where(
        and(
          eq(invitations.id, id),
          eq(invitations.status, "pending"),
          outranksMemberSql(caller.scopes, current.memberId),
          invitee && memberInReach(invitee, current.memberId),
        ),
      ),
    appendEvent(db, ws, "invitation.revoked", eventData(at), { from: fromInvitation(id), onlyIfChanged: true }),
    db
      .update(members)
      .set({ status: "archived", updatedAt: at })
      .where(
        and(
          eq(members.id, current.memberId),
          eq(members.status, "invited"),
          sql`exists (select 1 from ${invitations} where ${invitations.id} = ${id} and ${invitations.revokedAt} = ${at})`,
        ),
      ),
    appendEvent(db, ws, "member.archived", sql`json_object('member', json(${memberJson}))`, {
      from: sql`${members} where ${members.id} = ${current.memberId}`,
      onlyIfChanged: true,
    }),
    // Archiving the invitee must not take them out of the caller's reach either.
    ...guardStaysInReach(db, reach, current.memberId),
    selectInvitation(db, id, at),
  ]);
  const row = (results[results.length - 1] as { json: string }[])[0];
  if (results[0].meta.changes === 0 || !row) {
    await assertOutranksMember(db, caller, current.memberId);
    throw closed(await loadInvitation(db, ws, id, within));
  }
  return parseInvitation(row.json);
}

/**
 * Accepts an invitation by its link's token: activates the member and opens a session.
 * The guarded UPDATE (still pending, this token, not expired, member still invited)
 * lets exactly one of racing accepts through; the member update and the session insert
 * check that the invitation carries their own session id.
 */
export async function acceptInvitation(
  c: Context<AppEnv>,
  token: string,
): Promise<{ member: Member; workspaceId: string; sessionToken: string }> {
  requireTokenShape("invitation", token);
  const unknown = () => new ApiError(404, "unknown_token", "This invitation link is not valid.");
  const routed = await shardOfToken(c.env, token);
  if (!routed) throw unknown();
  useShard(c, routed.shard);
  const db = c.var.db;
  const hash = await sha256Hex(token);
  const [found] = await db
    .select({ invitation: invitations, linkHash: invitationLinks.tokenHash })
    .from(invitationLinks)
    .innerJoin(invitations, eq(invitations.id, invitationLinks.invitationId))
    .where(eq(invitationLinks.tokenHash, hash));
  if (!found || !belongsTo(routed, found.invitation.workspaceId) || !(await secretsEqual(found.linkHash, hash))) {
    throw unknown();
  }
  const at = now();
  const refuse = async (row: InvitationRow) => {
    if (row.status !== "pending") return closed(row);
    if (row.tokenHash !== hash) {
      return new ApiError(409, "invitation_superseded", "A newer invitation link was sent; use the latest one.");
    }
    if (row.expiresAt <= at)
      return new ApiError(410, "invitation_expired", "This invitation expired; ask for a new one.");
    const [member] = await db.select({ status: members.status }).from(members).where(eq(members.id, row.memberId));
    return new ApiError(409, "invitation_revoked", `The invitee is ${member?.status ?? "gone"}, no longer invited.`);
  };
  const inv = found.invitation;
  if (inv.status !== "pending" || inv.tokenHash !== hash || inv.expiresAt <= at) throw await refuse(inv);
  const sessionId = newId("ses");
  const mine = sql`exists (select 1 from ${invitations} where ${invitations.id} = ${inv.id}
    and ${invitations.acceptedSessionId} = ${sessionId})`;
  const session = await openSession(db, {
    workspaceId: inv.workspaceId,
    memberId: inv.memberId,
    sessionId,
    condition: mine,
  });
  const [accepted, , , , , after] = await db.batch([
    db
      .update(invitations)
      .set({ status: "accepted", acceptedAt: at, acceptedSessionId: sessionId, updatedAt: at })
      .where(
        and(
          eq(invitations.id, inv.id),
          eq(invitations.status, "pending"),
          eq(invitations.tokenHash, hash),
          sql`${invitations.expiresAt} > ${at}`,
          memberIs(inv.memberId, "invited"),
        ),
      ),
    db
      .update(members)
      .set({ status: "active", updatedAt: at })
      .where(and(eq(members.id, inv.memberId), eq(members.status, "invited"), mine)),
    appendEvent(db, inv.workspaceId, "invitation.accepted", eventData(at), {
      from: sql`${fromInvitation(inv.id)} and ${invitations.acceptedSessionId} = ${sessionId}`,
    }),
    ...session.statements,
    db.select({ json: memberJson }).from(members).where(eq(members.id, inv.memberId)),
  ]);
  const row = after[0];
  if (accepted.meta.changes === 0 || !row) {
    const [current] = await db.select().from(invitations).where(eq(invitations.id, inv.id));
    throw await refuse(current ?? inv);
  }
  return { member: parseMember(row.json), workspaceId: inv.workspaceId, sessionToken: session.token };
}
