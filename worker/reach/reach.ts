import { and, eq, type SQL, sql } from "drizzle-orm";
import type { Caller } from "../app";
import { CelError, type CelPerson, type Compiled, celPerson, evaluate, type MemberLike } from "../cel/cel";
import { inputRefusal, MAX_INPUT_ITEMS } from "../cel/cel-cost";
import type { Db } from "../lib/db";
import { ApiError, dbErrorText, notFound } from "../lib/errors";
import { callerCondition } from "../members/rules";
import { members } from "../members/table";
import { roles } from "../roles/table";
import { conditionOf } from "./customers";
import { accessGuard } from "./table";
import { type Actor, type Bind, inline, savedRoleCondition, toSql } from "./to-sql";

/**
 * A role's condition limits its scopes to the members it holds for: every member read
 * and write goes through here. `null` means the caller's role has no condition.
 */
export type Access = { compiled: Compiled | null; actor: CelPerson; condition: string } | null;

/** An Access as plain data, to cross an RPC to the workspace object, which judges inside its own batch. */
export type AccessData = { condition: string; actor: CelPerson } | null;

export const accessData = (access: Access): AccessData =>
  access && { condition: access.condition, actor: access.actor };

export const accessFrom = (data: AccessData): Access =>
  data && { compiled: savedRoleCondition(data.condition), actor: data.actor, condition: data.condition };

/** A predicate over the `members` row, with its values bound by `bind`. */
export type Visible = (bind?: Bind) => SQL;

/**
 * Per request: route() reads the caller's access for `targetMember` and the write reads it
 * again; the Caller object lives for one request, so the promise is kept with it.
 */
const accessCache = new WeakMap<object, Promise<Access>>();

/** The caller's role condition and the acting member, as CEL sees them (one query per request; none when known unconditioned). */
export function accessOf(db: Db, caller: Pick<Caller, "workspaceId" | "memberId" | "condition">): Promise<Access> {
  if (caller.condition === null) return Promise.resolve(null);
  let access = accessCache.get(caller);
  if (!access) {
    access = readAccess(db, caller);
    accessCache.set(caller, access);
  }
  return access;
}

async function readAccess(db: Db, caller: Pick<Caller, "workspaceId" | "memberId">): Promise<Access> {
  const [row] = await db
    .select({ member: members, condition: roles.condition })
    .from(members)
    .innerJoin(roles, and(eq(roles.workspaceId, members.workspaceId), eq(roles.key, members.role)))
    .where(and(eq(members.workspaceId, caller.workspaceId), eq(members.id, caller.memberId)));
  const condition = row && conditionOf(row.member.type, row.condition);
  if (!row || !condition) return null;
  return { compiled: savedRoleCondition(condition), actor: celPerson(row.member), condition };
}

/** The filter lists add to their query, or undefined when everyone is visible. */
export function visibleFilter(access: Access): Visible | undefined {
  if (!access) return undefined;
  return (bind = inline) => predicate(access, access.actor, bind);
}

/**
 * The condition over the `members` row a write touches, or undefined when everyone is
 * visible. On the caller's own row `actor` is that row too, as the write leaves it.
 */
export function reachable(access: Access, memberId: string): SQL | undefined {
  if (!access) return undefined;
  return predicate(access, memberId === access.actor.id ? "row" : access.actor, inline);
}

/**
 * Members (and actors) beyond the evaluation bounds of ./cel-cost.ts are out of reach
 * here too, so SQL (lists, writes) and JS (live stream, imports, actions) agree on them.
 */
function predicate(access: NonNullable<Access>, actor: Actor, bind: Bind): SQL {
  if (!access.compiled) return sql`0`;
  if (actor !== "row" && inputRefusal({ actor })) return sql`0`;
  try {
    return sql`(json_array_length(${members.labels}) <= ${sql.raw(String(MAX_INPUT_ITEMS))} and ${toSql(access.compiled, actor, bind)})`;
  } catch (err) {
    // Saved conditions were checked to translate; one that does not now hides everyone.
    if (err instanceof CelError) return sql`0`;
    throw err;
  }
}

/**
 * The condition over any `members` row, for set-based writes (an import chunk's), or
 * undefined when everyone is visible. On the caller's own row `actor` is that row too.
 * It holds the condition twice, as MAX_CONDITION_VALUES (./to-sql.ts) allows for.
 */
export function reachableRows(access: Access): SQL | undefined {
  if (!access) return undefined;
  const own = sql`${members.id} = ${access.actor.id}`;
  return sql`((${own} and ${predicate(access, "row", inline)}) or (not ${own} and ${predicate(access, access.actor, inline)}))`;
}

/**
 * `guardStaysVisible` for a set-based write: fails the whole batch (the CHECK of
 * `access_guard`) when any of `ids`, as the batch left them, is out of `visible`.
 */
export function guardRowsStayVisible(workspaceId: string, ids: readonly string[], visible: SQL): SQL {
  return sql`insert into ${accessGuard} (refused) select 1 where exists (
    select 1 from json_each(${JSON.stringify(ids)}) as w join ${members} on ${members.id} = w.value
    where ${members.workspaceId} = ${workspaceId} and not ${visible})`;
}

/** 404 (as if absent) unless the caller's role condition holds for the member. */
export async function assertMemberVisible(db: Db, caller: Caller, memberId: string): Promise<void> {
  const visible = reachable(await accessOf(db, caller), memberId);
  if (!visible) return;
  const [row] = await db
    .select({ one: sql`1` })
    .from(members)
    .where(and(eq(members.workspaceId, caller.workspaceId), eq(members.id, memberId), visible));
  if (!row) throw notFound("member");
}

/**
 * Whether the caller's role condition holds for `member` as a write would leave it,
 * evaluated in JS with the same compiled program. When the member is the caller, the
 * write changes `actor` too.
 */
export function holdsFor(access: Access, member: MemberLike): boolean {
  if (!access) return true;
  if (!access.compiled) return false;
  const person = celPerson(member);
  const actor = person.id === access.actor.id ? person : access.actor;
  return evaluate(access.compiled, { member: person, actor });
}

export const forbiddenByCondition = () =>
  new ApiError(
    403,
    "forbidden_by_condition",
    "Your role's condition would not reach the member after this change, so it was not made.",
  );

/**
 * A caller may not create a member, or move one, out of their own sight. For the write's
 * batch, right after the statement whose `changes()` says the write happened (its event,
 * appended only if the change was made): fails the whole batch when the member, as the
 * batch left it, is out of the caller's sight, so a refused write changes nothing. Its
 * guarded UPDATE requires `reachable` on the row as it was; together they hold against
 * concurrent writes, which a check of a row read before the batch would not. The error
 * is the CHECK of `access_guard` (./table.ts), answered 403 by `conditionRefusal`.
 */
export function guardStaysVisible(db: Db, access: Access, memberId: string) {
  const visible = reachable(access, memberId);
  if (!visible) return [];
  return [db.insert(accessGuard).select(sql`select 1 where changes() > 0 and not ${inSight(visible, memberId)}`)];
}

/** SQL: the member is in the caller's sight now (inside a batch: as its earlier statements left it). */
export function inSight(visible: SQL, memberId: string): SQL {
  return sql`exists (select 1 from ${members} where ${members.id} = ${memberId} and ${visible})`;
}

/** The 403 for a batch that `guardStaysVisible` stopped; undefined for any other error. */
export function conditionRefusal(err: unknown): ApiError | undefined {
  return dbErrorText(err).includes("CHECK constraint failed: forbidden_by_condition")
    ? forbiddenByCondition()
    : undefined;
}

/**
 * 403 forbidden_by_condition when the caller's role has a condition: for what reaches
 * members beyond any one member's row (actions run on every member the log names), where
 * no per-member judgement can hold the caller to their condition.
 */
export async function refuseConditioned(db: Db, caller: Caller, why: string): Promise<void> {
  if ((await callerCondition(db, caller)) === null) return;
  throw new ApiError(403, "forbidden_by_condition", why);
}

/** OpenAPI: what a route answers when a role condition hides its target, or would hide what it leaves. */
export const conditionResponses = {
  403: {
    description: "forbidden_by_condition: the change would leave the member out of your role condition's reach",
  },
  404: { description: "Absent, or its member is out of your role condition's reach" },
} as const;
export const hiddenResponse = { 404: conditionResponses[404] } as const;
