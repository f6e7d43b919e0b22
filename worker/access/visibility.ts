import { and, eq, type SQL, sql } from "drizzle-orm";
import type { Caller } from "../lib/app";
import type { Db } from "../lib/db";
import { ApiError, notFound } from "../lib/errors";
import { members } from "../members/table";
import { roles } from "../roles/table";
import { CelError, type CelPerson, type Compiled, celPerson, compile, evaluate, type MemberLike } from "./cel";
import { type Bind, inline, toSql } from "./to-sql";

/**
 * A role's condition limits its scopes to the members it holds for: every member read
 * and write goes through here. `null` means the caller's role has no condition.
 */
export type Access = { compiled: Compiled | null; actor: CelPerson } | null;

/** A predicate over the `members` row, with its values bound by `bind`. */
export type Visible = (bind?: Bind) => SQL;

/** The caller's role condition and the acting member, as CEL sees them (one query; none when known unconditioned). */
export async function accessOf(
  db: Db,
  caller: Pick<Caller, "workspaceId" | "memberId" | "condition">,
): Promise<Access> {
  if (caller.condition === null) return null;
  const [row] = await db
    .select({ member: members, condition: roles.condition })
    .from(members)
    .innerJoin(roles, and(eq(roles.workspaceId, members.workspaceId), eq(roles.key, members.role)))
    .where(and(eq(members.workspaceId, caller.workspaceId), eq(members.id, caller.memberId)));
  if (!row?.condition) return null;
  return { compiled: compiledOrNull(row.condition), actor: celPerson(row.member) };
}

/** A stored condition that no longer compiles (limits tightened since) lets nobody through. */
function compiledOrNull(source: string): Compiled | null {
  try {
    return compile(source, "role");
  } catch (err) {
    if (err instanceof CelError) return null;
    throw err;
  }
}

/** The filter lists add to their query, or undefined when everyone is visible. */
export function visibleFilter(access: Access): Visible | undefined {
  if (!access) return undefined;
  const { compiled, actor } = access;
  if (!compiled) return () => sql`0`;
  return (bind = inline) => {
    try {
      return toSql(compiled, actor, bind);
    } catch (err) {
      // Saved conditions were checked to translate; one that does not now hides everyone.
      if (err instanceof CelError) return sql`0`;
      throw err;
    }
  };
}

/** 404 (as if absent) unless the caller's role condition holds for the member. */
export async function assertMemberVisible(db: Db, caller: Caller, memberId: string): Promise<void> {
  const visible = visibleFilter(await accessOf(db, caller));
  if (!visible) return;
  const [row] = await db
    .select({ one: sql`1` })
    .from(members)
    .where(and(eq(members.workspaceId, caller.workspaceId), eq(members.id, memberId), visible()));
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

/**
 * 403 unless the caller's role condition holds for the member as the write would leave
 * it: a caller may not create a member, or move one, out of their own sight. Checked
 * before the write, so a refused write changes nothing.
 */
export async function assertStaysVisible(db: Db, caller: Caller, member: MemberLike): Promise<void> {
  if (holdsFor(await accessOf(db, caller), member)) return;
  throw new ApiError(
    403,
    "forbidden_by_condition",
    "Your role's condition would not reach the member after this change, so it was not made.",
  );
}
