import { CelError, compile, invalidCondition } from "../cel/cel";
import type { MemberType } from "../roles/scopes";
import { assertTranslatable } from "./to-sql";

/** What a customer reaches: themselves (their record, its messages and credential changes). */
export const SELF_ONLY = "member.id == actor.id";
const PREFIX = `${SELF_ONLY} && (`;

/**
 * The condition a caller is held to. A customer (a member whose role has type
 * `customer`) reaches only themselves, whatever their role: the rule follows the type,
 * not a stored condition, so it holds for the built-in `user` of every workspace, old or
 * new, and for custom customer roles, and no edit of a role's condition lifts it (only
 * making the role a team role does, which needs `roles:admin`). A condition of the role
 * narrows it further. The role's own condition goes on a line of its own, so that a
 * `//` comment ending it cannot swallow the closing parenthesis.
 */
export function conditionOf(type: MemberType, roleCondition: string | null): string | null {
  if (type !== "customer") return roleCondition;
  if (roleCondition === null || roleCondition === SELF_ONLY) return SELF_ONLY;
  return `${PREFIX}${roleCondition}\n)`;
}

/**
 * 422 unless a customer role's condition, held together with SELF_ONLY, stays within the
 * limits a saved condition must (./cel.ts, ./to-sql.ts): otherwise its members would
 * reach nobody, themselves included. Positions are given in the role's own condition.
 */
export function assertCustomerCondition(source: string) {
  const held = conditionOf("customer", source);
  if (held === null || held === SELF_ONLY) return;
  try {
    assertTranslatable(compile(held, "role"));
  } catch (err) {
    if (!(err instanceof CelError)) throw err;
    const offset = Math.min(Math.max(err.offset - PREFIX.length, 0), source.length);
    const why = `${err.message} (a customer role's condition is held as \`${PREFIX}<condition>)\`, since customers reach only themselves)`;
    throw invalidCondition(new CelError(why, offset, source));
  }
}
