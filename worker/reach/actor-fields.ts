import type { ASTNode } from "@marcbachmann/cel-js";
import { and, type SQL, sql } from "drizzle-orm";
import { type CelPerson, celPerson, type MemberLike, PERSON_FIELDS } from "../cel/cel";
import { COMPREHENSIONS, childrenOf } from "../cel/cel-cost";
import { ApiError } from "../lib/errors";
import { type MemberRow, members } from "../members/table";
import { actorLabelRefusal } from "./actor-labels";
import type { Reach } from "./reach";

/**
 * A condition that reads `actor` ties what a caller reaches to their own record: under
 * `member.external_id.startsWith(actor.external_id)` a caller who cleared their own
 * external ID would reach everyone (`startsWith("")` is true). So a caller whose role has
 * a condition may not change, on their own record, any field the condition reads on
 * `actor`, by any path: an edit, a credential change, an import row. Labels keep their
 * own rule (./actor-labels.ts: given only by a holder, taken only by a non-holder), which
 * also holds on members the caller does not act as, and comes to the same on their own
 * record; `id` never changes.
 */

/** The member field (as the API names it) behind each CEL field of `actor`; labels and id are not here. */
const API_FIELD = {
  name: "name",
  first_name: "name",
  last_name: "name",
  email: "email",
  phone: "phone",
  external_id: "externalId",
  status: "status",
  role: "role",
  attributes: "attributes",
} as const satisfies Partial<Record<keyof CelPerson, string>>;

type ApiField = (typeof API_FIELD)[keyof typeof API_FIELD];
const COLUMN = {
  name: members.name,
  email: members.email,
  phone: members.phone,
  externalId: members.externalId,
  status: members.status,
  role: members.role,
} as const;

/** OpenAPI: the other reason a write answers 403 forbidden_by_condition. */
export const ACTOR_REFUSAL =
  "or it would change, on your own record, a field your role's condition reads on `actor`, or give or take a label it names there that you may not";

/** What a change would widen: the field refused (as the API names it) and why. */
export type ActorRefusal = { field: ApiField | "labels"; message: string };

/** Why the change of `before` into `after` is refused to the caller under `reach`, or null. */
export function actorChangeRefusal(reach: Reach, before: MemberLike, after: MemberLike): ActorRefusal | null {
  const labels = actorLabelRefusal(reach, before.labels ?? [], after.labels ?? []);
  if (labels) return { field: "labels", message: labels };
  if (!reach?.compiled || before.id !== reach.actor.id) return null;
  const was = celPerson(before);
  const is = celPerson(after);
  for (const field of actorFieldsRead(reach.compiled.ast)) {
    if (!(field in API_FIELD) || JSON.stringify(was[field]) === JSON.stringify(is[field])) continue;
    const name = API_FIELD[field as keyof typeof API_FIELD];
    return {
      field: name,
      message: `Your role's condition reads actor.${field}, so you may not change your own ${name}: it would change whom you reach.`,
    };
  }
  return null;
}

/** 403 forbidden_by_condition for a change `actorChangeRefusal` refuses. */
export function assertActorChange(reach: Reach, before: MemberLike, after: MemberLike) {
  const refused = actorChangeRefusal(reach, before, after);
  if (refused) throw new ApiError(403, "forbidden_by_condition", refused.message);
}

/**
 * For the guarded UPDATE of a write on the caller's own record: its fields that the
 * condition reads on `actor` are still as `row` had them, so a change made meanwhile
 * (by someone else) is not undone by a write judged against the old values. Undefined
 * when the write is not on the caller's own record or the condition reads none.
 */
export function actorFieldsAsRead(reach: Reach, row: MemberRow): SQL | undefined {
  if (!reach?.compiled || row.id !== reach.actor.id) return undefined;
  const fields = new Set<ApiField>();
  for (const field of actorFieldsRead(reach.compiled.ast)) {
    if (field in API_FIELD) fields.add(API_FIELD[field as keyof typeof API_FIELD]);
  }
  return and(
    ...[...fields].map((field) =>
      field === "attributes"
        ? sql`${members.attributes} is ${row.attributes === null ? null : JSON.stringify(row.attributes)}`
        : sql`${COLUMN[field]} is ${row[field]}`,
    ),
  );
}

const cache = new WeakMap<ASTNode, ReadonlySet<keyof CelPerson>>();

const isActor = (node: ASTNode | undefined, bound: ReadonlySet<string>) =>
  node?.op === "id" && node.args === "actor" && !bound.has("actor");

/**
 * The fields of `actor` a condition reads: `actor.<field>` names one; `actor` used in any
 * other way (indexed, compared whole) counts as reading every field. A comprehension's
 * variable named `actor` hides the caller inside its body, as in CEL.
 */
export function actorFieldsRead(ast: ASTNode): ReadonlySet<keyof CelPerson> {
  const hit = cache.get(ast);
  if (hit) return hit;
  const read = new Set<keyof CelPerson>();
  const visit = (node: ASTNode, bound: ReadonlySet<string>) => {
    if (node.op === "." && isActor(node.args[0], bound)) {
      read.add(node.args[1] as keyof CelPerson);
      return;
    }
    if (isActor(node, bound)) {
      for (const field of PERSON_FIELDS) read.add(field);
      return;
    }
    if (node.op === "rcall" && COMPREHENSIONS.has(node.args[0])) {
      const [, receiver, [item, ...body]] = node.args;
      visit(receiver, bound);
      const inner = item?.op === "id" ? new Set([...bound, String(item.args)]) : bound;
      if (item && item.op !== "id") visit(item, bound);
      for (const part of body) visit(part, inner);
      return;
    }
    for (const child of childrenOf(node)) visit(child, bound);
  };
  visit(ast, new Set());
  cache.set(ast, read);
  return read;
}
