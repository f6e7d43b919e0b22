import { and, eq, or, type SQL, type SQLWrapper, sql } from "drizzle-orm";
import type { Caller } from "../app";
import type { Db } from "../lib/db";
import { ApiError, invalidField } from "../lib/errors";
import { isUniqueViolation, sqliteFailure } from "../lib/sqlite-errors";
import { conditionOf } from "../reach/customers";
import type { ReachFilter } from "../reach/reach";
import { ALL_SCOPES, grants, type MemberType, type Scope } from "../roles/scopes";
import { type RoleRow, roles } from "../roles/table";
import { normalizePhone } from "./phone";
import { roleOfMember } from "./role-of";
import { members } from "./table";

export type Identifiers = { email?: string | null; phone?: string | null; externalId?: string | null };

/** Validates the phone and derives its E.164 and national forms (422 naming `phone`). */
export function parsePhoneField(phone: string | undefined) {
  if (phone === undefined) return { phone: null, phoneNational: null };
  const normalized = normalizePhone(phone);
  if (!normalized) {
    throw invalidField("phone", "Enter a valid phone number in international format, e.g. +14155550100.");
  }
  return { phone: normalized.e164, phoneNational: normalized.national };
}

export function requireIdentifier(ids: Identifiers) {
  if (!ids.email && !ids.phone && !ids.externalId) {
    throw new ApiError(422, "validation_failed", "A member needs an email, a phone or an external ID.", {
      issues: [{ path: "email", message: "Give at least one of email, phone, externalId." }],
    });
  }
}

/** The member already holding one of these identifiers, if any. */
export async function findDuplicate(db: Db, workspaceId: string, ids: Identifiers, exceptId?: string) {
  const matches: SQL[] = [];
  if (ids.email) matches.push(eq(members.email, ids.email));
  if (ids.phone) matches.push(eq(members.phone, ids.phone));
  if (ids.externalId) matches.push(eq(members.externalId, ids.externalId));
  if (matches.length === 0) return undefined;
  const found = await db
    .select({ id: members.id })
    .from(members)
    .where(and(eq(members.workspaceId, workspaceId), or(...matches)));
  return found.find((m) => m.id !== exceptId)?.id;
}

export function duplicate(existingId?: string) {
  return new ApiError(
    409,
    "duplicate",
    "Another member already has this email, phone or external ID.",
    existingId ? { existingId } : {},
  );
}

/**
 * 409 `duplicate`, naming the holder only when the caller's role condition (`within`,
 * worker/reach) reaches them: the id of a member out of reach is not given away.
 */
export async function duplicateOf(db: Db, existingId: string, within?: ReachFilter) {
  if (!within) return duplicate(existingId);
  const [seen] = await db
    .select({ one: sql`1` })
    .from(members)
    .where(and(eq(members.id, existingId), within()));
  return duplicate(seen ? existingId : undefined);
}

/** Runs a member write; a unique-index race lost to a concurrent write answers 409 `duplicate`. */
export async function withDuplicateCheck<T>(
  db: Db,
  workspaceId: string,
  ids: Identifiers,
  write: () => Promise<T>,
  options: { exceptId?: string; within?: ReachFilter } = {},
): Promise<T> {
  const { exceptId, within } = options;
  const existing = await findDuplicate(db, workspaceId, ids, exceptId);
  if (existing) throw await duplicateOf(db, existing, within);
  try {
    return await write();
  } catch (err) {
    if (!isUniqueViolation(err, "members")) throw err;
    const winner = await findDuplicate(db, workspaceId, ids, exceptId);
    if (winner) throw await duplicateOf(db, winner, within);
    throw err;
  }
}

const unknownRole = (key: string) => invalidField("role", `No role "${key}" in this workspace.`);

/** The rule for assigning roles, as the OpenAPI descriptions of the routes that assign, create or edit them state it. */
export const ROLE_RULE =
  "Assigning a role needs every scope it grants (403 role_exceeds_caller), and so does creating or editing one (403 scope_exceeds_caller). A caller whose own role has a `condition` may only assign, create or edit roles with that same condition, as saved (403 role_exceeds_caller): a role without it would let a member they control read past it. Customers (the built-in `user`, and any role of type `customer`) reach only themselves, as if their role's condition were `member.id == actor.id` (and-ed with its own), so they assign no role without exactly that condition. Labels such a condition reads on `actor` are given only by a caller holding them and taken away only by one lacking them, and any other field it reads on `actor` the caller may not change on their own record, by an edit, a credential change or an import row (403 forbidden_by_condition).";

/**
 * The role to assign, which must exist, grant nothing the caller lacks, and, when the
 * caller's role has a condition, carry that same condition (see `conditionRefusal`).
 */
export async function assignableRole(db: Db, caller: Caller, key: string): Promise<RoleRow> {
  const [[role], condition] = await Promise.all([
    db
      .select()
      .from(roles)
      .where(and(eq(roles.workspaceId, caller.workspaceId), eq(roles.key, key))),
    callerCondition(db, caller),
  ]);
  if (!role) throw unknownRole(key);
  const missing = role.scopes.filter((s) => !grants(caller.scopes, s));
  if (missing.length > 0) {
    throw new ApiError(403, "role_exceeds_caller", `Assigning "${key}" needs ${missing.join(", ")}.`);
  }
  const refused = conditionRefusal(condition, role);
  if (refused) throw new ApiError(403, "role_exceeds_caller", refused);
  return role;
}

/**
 * The condition the caller is held to (null for none): their role's, and for a customer
 * also reaching only themselves (`conditionOf`); from the credential when it was read with it.
 */
export async function callerCondition(
  db: Db,
  caller: Pick<Caller, "workspaceId" | "memberId" | "condition">,
): Promise<string | null> {
  if (caller.condition !== undefined) return caller.condition;
  const [row] = await db
    // The role's type, not the member's copy of it, which follows a change of type in batches (../roles/retype.ts).
    .select({ type: roles.type, condition: roles.condition })
    .from(members)
    .innerJoin(roles, roleOfMember)
    .where(and(eq(members.workspaceId, caller.workspaceId), eq(members.id, caller.memberId)));
  return row ? conditionOf(row.type, row.condition) : null;
}

/**
 * Why a caller whose role has a condition may not hand out `role`, or null when they may.
 * Their condition limits them to the members it holds for; a role without it, or with
 * another one, would let a member they control (an invitee at a second address of
 * theirs, a key's member) read past it. So they assign, create and edit only roles
 * carrying the very same condition, as saved.
 */
export function conditionRefusal(callerCondition: string | null, role: { key: string; condition: string | null }) {
  if (callerCondition === null || role.condition === callerCondition) return null;
  const has = role.condition === null ? "has none" : "has another";
  return `Your role has a condition: you may only assign, create or edit roles with the same condition, and "${role.key}" ${has}.`;
}

/** The rank rule, as the OpenAPI descriptions of the routes that apply it state it. */
export const RANK_RULE =
  "Acting on a member needs every scope their role grants (403 role_exceeds_caller): nobody acts on someone above them.";

/**
 * Changing a member's role or status needs every scope their current role grants, as
 * assigning a role does: nobody demotes, archives or restores someone above them (a
 * support agent locking out the workspace's owner). So do starting a change of their
 * email or phone, revoking their API keys and resending or revoking their invitation.
 */
export async function assertOutranks(db: Db, caller: Caller, memberRole: string) {
  const [role] = await db
    .select({ scopes: roles.scopes })
    .from(roles)
    .where(and(eq(roles.workspaceId, caller.workspaceId), eq(roles.key, memberRole)));
  const missing = (role?.scopes ?? []).filter((s) => !grants(caller.scopes, s));
  if (missing.length > 0) {
    throw new ApiError(403, "role_exceeds_caller", `Acting on a "${memberRole}" needs ${missing.join(", ")}.`);
  }
}

/** `assertOutranks` on the member's role as it is now; nothing for a member that is not there. */
export async function assertOutranksMember(db: Db, caller: Caller, memberId: string) {
  const [member] = await db
    .select({ role: members.role })
    .from(members)
    .where(and(eq(members.workspaceId, caller.workspaceId), eq(members.id, memberId)));
  if (member) await assertOutranks(db, caller, member.role);
}

/** Whether `held` grants every scope there is: the manager level, which outranks every role. */
export const holdsEveryScope = (held: readonly Scope[]) => ALL_SCOPES.every((s) => grants(held, s));

/**
 * SQL: `held` grants every scope of the roles of the members `which` selects (a condition
 * on `members`, which may read the outer statement's row), as the statement finds them.
 * It judges the rank rule inside a batch, so a promotion or a role edit committed since
 * the rule was read before the batch still counts. True when `which` selects nobody.
 */
export function outranksSql(held: readonly Scope[], which: SQL): SQL {
  const granted = JSON.stringify(ALL_SCOPES.filter((s) => grants(held, s)));
  return sql`not exists (select 1 from ${members}
    join ${roles} on ${roleOfMember}
    join json_each(${roles.scopes}) as held_scope
    where ${which} and held_scope.value not in (select value from json_each(${granted})))`;
}

/** `outranksSql` for one member, named by id or by a column or expression of the outer statement. */
export const outranksMemberSql = (held: readonly Scope[], memberId: string | SQLWrapper) =>
  outranksSql(held, sql`${members.id} = ${memberId}`);

/**
 * The member's type, read from its role inside the write's batch rather than from what
 * `assignableRole` read before it: a role whose type changed meanwhile gives its new
 * type, and a role deleted meanwhile gives NULL, which fails the NOT NULL column and so
 * the whole batch (see `unlessRoleGone`).
 */
export function typeOfRole(workspaceId: string, key: string) {
  return sql<MemberType>`(select ${roles.type} from ${roles} where ${roles.workspaceId} = ${workspaceId} and ${roles.key} = ${key})`;
}

/** Answers a batch that failed on a role deleted meanwhile (see `typeOfRole`) as an unknown role. */
export function unlessRoleGone(key: string) {
  return (err: unknown): never => {
    const failure = sqliteFailure(err);
    if (failure.kind === "not_null" && failure.column === "members.type") throw unknownRole(key);
    throw err;
  };
}
