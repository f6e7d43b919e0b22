import type { ASTNode } from "@marcbachmann/cel-js";
import { COMPREHENSIONS, childrenOf } from "../cel/cel-cost";
import { ApiError } from "../lib/errors";
import type { Reach } from "./reach";

/**
 * A condition that reads `actor` lets a member's own labels widen what they reach
 * (`"vip-desk" in actor.labels`). A caller under it could widen their own reach, or that
 * of a member they control (a second address, a key's member), by changing labels. So
 * the labels such a condition names move only toward the caller's own state: given only
 * by a caller who holds them, taken away only by one who does not, as nobody hands out
 * a scope they lack. Labels it does not name change freely.
 */
export function actorLabelRefusal(reach: Reach, before: readonly string[], after: readonly string[]): string | null {
  if (!reach?.compiled) return null;
  const named = namedLabels(reach.compiled.ast);
  const held = new Set(reach.actor.labels);
  const changed = [...before.filter((l) => !after.includes(l)), ...after.filter((l) => !before.includes(l))];
  for (const label of changed.filter((l) => named.all || named.labels.has(l))) {
    const had = before.includes(label);
    const has = after.includes(label);
    if (!had && has && !held.has(label)) {
      return `Your role's condition reads "${label}" on the acting member: only a holder of "${label}" may give it.`;
    }
    if (had && !has && held.has(label)) {
      return `Your role's condition reads "${label}" on the acting member: you hold it, so you may not take it away.`;
    }
  }
  return null;
}

/** 403 forbidden_by_condition for a label change `actorLabelRefusal` refuses. */
export function assertActorLabels(reach: Reach, before: readonly string[], after: readonly string[]) {
  const refused = actorLabelRefusal(reach, before, after);
  if (refused) throw new ApiError(403, "forbidden_by_condition", refused);
}

/** The labels a condition compares with the actor's, or every label when it uses them in a way not followed here. */
type Named = { labels: ReadonlySet<string>; all: boolean };
const cache = new WeakMap<ASTNode, Named>();

const isActorLabels = (node: ASTNode | undefined) =>
  node?.op === "." && node.args[1] === "labels" && node.args[0].op === "id" && node.args[0].args === "actor";

/**
 * Follows `"x" in actor.labels` and comprehensions over `actor.labels` whose body
 * compares the item with literals only; any other use of `actor.labels` (its size, a
 * comparison with the member's labels) makes every label count.
 */
function namedLabels(ast: ASTNode): Named {
  const hit = cache.get(ast);
  if (hit) return hit;
  const labels = new Set<string>();
  let all = false;
  const literalsOf = (node: ASTNode, item: string) => {
    if (node.op === "id" && node.args !== item) all = true;
    if (node.op === "value" && typeof node.args === "string") labels.add(node.args);
    for (const child of childrenOf(node)) literalsOf(child, item);
  };
  const visit = (node: ASTNode) => {
    if (node.op === "in" && isActorLabels(node.args[1])) {
      const [needle] = node.args;
      if (needle.op === "value" && typeof needle.args === "string") labels.add(needle.args);
      else all = true;
      visit(needle);
      return;
    }
    if (node.op === "rcall" && COMPREHENSIONS.has(node.args[0]) && isActorLabels(node.args[1])) {
      const [item, ...body] = node.args[2];
      if (item?.op !== "id") all = true;
      for (const part of body) literalsOf(part, item?.op === "id" ? String(item.args) : "");
      return;
    }
    if (isActorLabels(node)) all = true;
    for (const child of childrenOf(node)) visit(child);
  };
  visit(ast);
  const named = { labels, all };
  cache.set(ast, named);
  return named;
}
