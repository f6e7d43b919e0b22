import { and, eq, type SQL, sql } from "drizzle-orm";
import type { Caller } from "../app";
import { CelError, type CelPerson, type Compiled, celPerson, evaluate, type MemberLike } from "../cel/cel";
import { inputRefusal, MAX_INPUT_ITEMS } from "../cel/cel-cost";
import type { Db } from "../lib/db";
import { ApiError, notFound } from "../lib/errors";
import { isCheckViolation } from "../lib/sqlite-errors";
import { roleOfMember } from "../members/role-of";
import { callerCondition } from "../members/rules";
import { members } from "../members/table";
import { roles } from "../roles/table";
import { conditionOf } from "./customers";
import { reachGuard } from "./table";
import { type Actor, type Bind, inline, savedRoleCondition, toSql } from "./to-sql";

/**
 * A caller's reach: the members their role's condition lets them act on (it limits the
 * role's scopes to the members it holds for). Every member read and write goes through
 * here. `null` means the caller's role has no condition: they reach every member.
 */
export type Reach = { compiled: Compiled | null; actor: CelPerson; condition: string } | null;

/** A Reach as plain data, to cross an RPC to the workspace object, which judges inside its own batch. */
export type ReachData = { condition: string; actor: CelPerson } | null;

export const reachData = (reach: Reach): ReachData => reach && { condition: reach.condition, actor: reach.actor };

export const reachFrom = (data: ReachData): Reach =>
  data && { compiled: savedRoleCondition(data.condition), actor: data.actor, condition: data.condition };

/** The reach as a predicate over the `members` row, with its values bound by `bind`. */
export type ReachFilter = (bind?: Bind) => SQL;

/**
 * Per request: route() reads the caller's reach for `targetMember` and the write reads it
 * again; the Caller object lives for one request, so the promise is kept with it.
 */
const reachCache = new WeakMap<object, Promise<Reach>>();

/** The caller's role condition and the acting member, as CEL sees them (one query per request; none when known unconditioned). */
export function reachOf(db: Db, caller: Pick<Caller, "workspaceId" | "memberId" | "condition">): Promise<Reach> {
  if (caller.condition === null) return Promise.resolve(null);
  let reach = reachCache.get(caller);
  if (!reach) {
    reach = readReach(db, caller);
    reachCache.set(caller, reach);
  }
  return reach;
}

async function readReach(db: Db, caller: Pick<Caller, "workspaceId" | "memberId">): Promise<Reach> {
  const [row] = await db
    .select({ member: members, type: roles.type, condition: roles.condition })
    .from(members)
    .innerJoin(roles, roleOfMember)
    .where(and(eq(members.workspaceId, caller.workspaceId), eq(members.id, caller.memberId)));
  // The role's type, not the member's copy of it, which follows a change of type in batches (../roles/retype.ts).
  const condition = row && conditionOf(row.type, row.condition);
  if (!row || !condition) return null;
  return { compiled: savedRoleCondition(condition), actor: celPerson(row.member), condition };
}

/** The filter lists add to their query, or undefined when the caller reaches everyone. */
export function reachFilter(reach: Reach): ReachFilter | undefined {
  if (!reach) return undefined;
  return (bind = inline) => predicate(reach, reach.actor, bind);
}

/**
 * The condition over the `members` row a write touches, or undefined when the caller
 * reaches everyone. On the caller's own row `actor` is that row too, as the write leaves it.
 */
export function reachable(reach: Reach, memberId: string): SQL | undefined {
  if (!reach) return undefined;
  return predicate(reach, memberId === reach.actor.id ? "row" : reach.actor, inline);
}

/**
 * Members (and actors) beyond the evaluation bounds of ./cel-cost.ts are out of reach
 * here too, so SQL (lists, writes) and JS (live stream, imports, actions) agree on them.
 */
function predicate(reach: NonNullable<Reach>, actor: Actor, bind: Bind): SQL {
  if (!reach.compiled) return sql`0`;
  if (actor !== "row" && inputRefusal({ actor })) return sql`0`;
  try {
    return sql`(json_array_length(${members.labels}) <= ${sql.raw(String(MAX_INPUT_ITEMS))} and ${toSql(reach.compiled, actor, bind)})`;
  } catch (err) {
    // Saved conditions were checked to translate; one that does not now hides everyone.
    if (err instanceof CelError) return sql`0`;
    throw err;
  }
}

/**
 * The condition over any `members` row, for set-based writes (an import chunk's), or
 * undefined when the caller reaches everyone. On the caller's own row `actor` is that row too.
 * It holds the condition twice, as MAX_CONDITION_VALUES (./to-sql.ts) allows for.
 */
export function reachableRows(reach: Reach): SQL | undefined {
  if (!reach) return undefined;
  const own = sql`${members.id} = ${reach.actor.id}`;
  return sql`((${own} and ${predicate(reach, "row", inline)}) or (not ${own} and ${predicate(reach, reach.actor, inline)}))`;
}

/**
 * `guardStaysInReach` for a set-based write: fails the whole batch (the CHECK of
 * `reach_guard`) when any of `ids`, as the batch left them, is out of `within`.
 */
export function guardRowsStayInReach(workspaceId: string, ids: readonly string[], within: SQL): SQL {
  return sql`insert into ${reachGuard} (refused) select 1 where exists (
    select 1 from json_each(${JSON.stringify(ids)}) as w join ${members} on ${members.id} = w.value
    where ${members.workspaceId} = ${workspaceId} and not ${within})`;
}

/** 404 (as if absent) unless the caller's role condition holds for the member. */
export async function assertMemberInReach(db: Db, caller: Caller, memberId: string): Promise<void> {
  const within = reachable(await reachOf(db, caller), memberId);
  if (!within) return;
  const [row] = await db
    .select({ one: sql`1` })
    .from(members)
    .where(and(eq(members.workspaceId, caller.workspaceId), eq(members.id, memberId), within));
  if (!row) throw notFound("member");
}

/**
 * Whether the caller's role condition holds for `member` as a write would leave it,
 * evaluated in JS with the same compiled program. When the member is the caller, the
 * write changes `actor` too.
 */
export function reaches(reach: Reach, member: MemberLike): boolean {
  if (!reach) return true;
  if (!reach.compiled) return false;
  const person = celPerson(member);
  const actor = person.id === reach.actor.id ? person : reach.actor;
  return evaluate(reach.compiled, { member: person, actor });
}

export const forbiddenByCondition = () =>
  new ApiError(
    403,
    "forbidden_by_condition",
    "Your role's condition would not reach the member after this change, so it was not made.",
  );

/**
 * A caller may not create a member, or move one, out of their own reach. For the write's
 * batch, right after the statement whose `changes()` says the write happened (its event,
 * appended only if the change was made): fails the whole batch when the member, as the
 * batch left it, is out of the caller's reach, so a refused write changes nothing. Its
 * guarded UPDATE requires `reachable` on the row as it was; together they hold against
 * concurrent writes, which a check of a row read before the batch would not. The error
 * is the CHECK of `reach_guard` (./table.ts), answered 403 by `conditionRefusal`.
 */
export function guardStaysInReach(db: Db, reach: Reach, memberId: string) {
  const within = reachable(reach, memberId);
  if (!within) return [];
  return [db.insert(reachGuard).select(sql`select 1 where changes() > 0 and not ${memberInReach(within, memberId)}`)];
}

/** SQL: the member is in the caller's reach now (inside a batch: as its earlier statements left it). */
export function memberInReach(within: SQL, memberId: string): SQL {
  return sql`exists (select 1 from ${members} where ${members.id} = ${memberId} and ${within})`;
}

/** The 403 for a batch that `guardStaysInReach` stopped; undefined for any other error. */
export function conditionRefusal(err: unknown): ApiError | undefined {
  return isCheckViolation(err, "forbidden_by_condition") ? forbiddenByCondition() : undefined;
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
