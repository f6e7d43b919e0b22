import type { ASTNode } from "@marcbachmann/cel-js";

/**
 * What a condition may cost. The evaluator (@marcbachmann/cel-js) has parse-time limits
 * only, no step budget, and it runs synchronously, so nothing can stop an evaluation
 * once started. Instead the inputs are bounded at evaluation (`inputRefusal`) and each
 * saved expression's worst case over inputs within those bounds is estimated when it is
 * saved (`worstSteps`): an expression whose worst case is too costly is refused then,
 * and an input beyond the bounds is refused before evaluating, never a hung request.
 */

/** The most items a list (or entries a map) of the inputs may have: labels, event data. */
export const MAX_INPUT_ITEMS = 1000;
/** The longest string of the inputs (an inbound message's text, a description). */
export const MAX_INPUT_CHARS = 10_000;
/** All the inputs' strings together (an event's data is at most a D1 row). */
const MAX_INPUT_TOTAL_CHARS = 1_000_000;
const MAX_INPUT_DEPTH = 16;
/** Member fields are short (names and ids 200, emails 254, labels 64): their bound for regexes. */
const MEMBER_FIELD_CHARS = 256;
/**
 * Worst-case steps (node evaluations, regex backtracking steps) a saved expression may
 * take: about 15 million steps a second were measured (Node 22, a busy 2-core machine),
 * so some 130 ms. It leaves one comprehension over a member's labels any body the parser
 * allows, and refuses two nested over lists of inputs.
 */
export const MAX_STEPS = 2_000_000;

export const COMPREHENSIONS = new Set(["all", "exists", "exists_one", "map", "filter"]);
/** Calls that scan their whole receiver natively; they count one step per SCAN_PER_STEP characters. */
const SCANS = new Set(["contains", "indexOf", "lastIndexOf", "split", "join", "lowerAscii", "upperAscii", "trim"]);
const SCAN_PER_STEP = 16;

/** A part of the expression too costly in the worst case, and why. */
export class CostError extends Error {
  constructor(
    message: string,
    readonly node: ASTNode,
  ) {
    super(message);
  }
}

/**
 * Worst-case evaluation steps: each node one, a comprehension its body once per item of
 * the largest list its range can be, and `matches` its regex's backtracking bound.
 */
export function worstSteps(node: ASTNode): number {
  if (node.op === "rcall") {
    const [name, receiver, args] = node.args;
    if (COMPREHENSIONS.has(name)) {
      const body = args.slice(1).reduce((sum, arg) => sum + worstSteps(arg), 1);
      return worstSteps(receiver) + rangeOf(receiver) * body;
    }
    if (name === "matches") {
      const [pattern] = args;
      if (pattern?.op !== "value" || typeof pattern.args !== "string") {
        throw new CostError("matches() takes a string literal as its pattern.", pattern ?? node);
      }
      return worstSteps(receiver) + regexSteps(pattern.args, charsOf(receiver), pattern);
    }
  }
  let steps = 1 + scanSteps(node);
  for (const child of childrenOf(node)) steps += worstSteps(child);
  return steps;
}

/** What a call scanning its receiver, or `in` scanning a list, costs beyond its node. */
function scanSteps(node: ASTNode): number {
  if (node.op === "in") return Math.ceil(rangeOf((node.args as ASTNode[])[1] as ASTNode) / SCAN_PER_STEP);
  if (node.op !== "rcall" || !SCANS.has(node.args[0])) return 0;
  const chars = node.args[0] === "join" ? MAX_INPUT_TOTAL_CHARS : charsOf(node.args[1]);
  return Math.ceil(chars / SCAN_PER_STEP);
}

/** The most items a comprehension's range can have, inputs being within their bounds. */
function rangeOf(node: ASTNode): number {
  if (node.op === "list") return (node.args as ASTNode[]).length;
  if (node.op === "rcall" || node.op === "call") {
    const name = node.args[0];
    if (name === "map" || name === "filter") return rangeOf(node.args[1] as ASTNode);
    // split("") makes a list of a string's characters.
    if (name === "split") return MAX_INPUT_CHARS;
  }
  if (node.op === "+") return (node.args as ASTNode[]).reduce((sum, n) => sum + rangeOf(n), 0);
  return MAX_INPUT_ITEMS;
}

/** The longest a string can be: a member's (or actor's) own field is short; anything else is input-bound. */
function charsOf(node: ASTNode): number {
  if (node.op === ".") {
    const [object] = node.args as [ASTNode, string];
    if (object.op === "id" && (object.args === "member" || object.args === "actor")) return MEMBER_FIELD_CHARS;
  }
  return MAX_INPUT_CHARS;
}

/**
 * A backtracking bound for a regex over a string of `chars`: refuses what can backtrack
 * exponentially (quantified groups, backreferences, lookarounds), then counts start
 * positions (one when anchored by ^) times the choices of each quantifier (`?` 2,
 * `{m,n}` n-m+1, unbounded ones the string's length). JavaScript's RegExp backtracks;
 * CEL's RE2 would not, so `(a+)+$` is fine in the spec and hangs here.
 */
function regexSteps(pattern: string, chars: number, node: ASTNode): number {
  const refuse = (why: string) => new CostError(`The pattern ${why}.`, node);
  let steps = pattern.startsWith("^") ? 1 : chars;
  let afterGroup = false;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    const closesGroup = afterGroup;
    afterGroup = ch === ")";
    if (ch === "\\") {
      const next = pattern[i + 1] ?? "";
      if (/[1-9k]/.test(next)) throw refuse("uses a backreference");
      i += 1;
      continue;
    }
    if (ch === "[") {
      // Skip the class: quantifiers inside it are plain characters.
      for (i += 1; i < pattern.length && pattern[i] !== "]"; i++) if (pattern[i] === "\\") i += 1;
      continue;
    }
    // (?: groups and (?<name> groups are plain groups; (?= (?! (?<= (?<! look around.
    if (ch === "(" && /^\(\?(?!:|<[^=!])/.test(pattern.slice(i))) throw refuse("uses a lookaround");
    const quantifier = /^(\*|\+|\?|\{(\d+)(,(\d*))?\})/.exec(pattern.slice(i));
    if (!quantifier) continue;
    if (closesGroup) throw refuse("repeats a group, which can backtrack without end");
    const [text, symbol, min, comma, max] = quantifier;
    const choices =
      symbol === "?"
        ? 2
        : symbol === "*" || symbol === "+" || (comma && !max)
          ? chars
          : Math.max(1, Number(max ?? min) - Number(min) + 1);
    steps *= choices;
    i += text.length - 1;
    // A lazy or possessive marker after the quantifier is not another quantifier.
    if (pattern[i + 1] === "?") i += 1;
  }
  return steps;
}

export function childrenOf(node: ASTNode): ASTNode[] {
  const out: ASTNode[] = [];
  const visit = (value: unknown) => {
    if (Array.isArray(value)) value.forEach(visit);
    else if (value && typeof value === "object" && "op" in value) out.push(value as ASTNode);
  };
  visit(node.args);
  return out;
}

/**
 * Why the inputs are beyond the bounds `worstSteps` assumed (a list too long, a string
 * too long, data nested too deep), naming where; null when they are within them.
 */
export function inputRefusal(context: Record<string, unknown>): string | null {
  let total = 0;
  const walk = (value: unknown, path: string, depth: number): string | null => {
    if (typeof value === "string") {
      total += value.length;
      if (total > MAX_INPUT_TOTAL_CHARS) return `the inputs hold more than ${MAX_INPUT_TOTAL_CHARS} characters`;
      return value.length > MAX_INPUT_CHARS ? `${path} is longer than ${MAX_INPUT_CHARS} characters` : null;
    }
    if (value === null || typeof value !== "object") return null;
    if (depth > MAX_INPUT_DEPTH) return `${path} is nested deeper than ${MAX_INPUT_DEPTH} levels`;
    const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
    if (entries.length > MAX_INPUT_ITEMS) return `${path} has more than ${MAX_INPUT_ITEMS} items`;
    for (const [key, item] of entries) {
      const found = walk(item, Array.isArray(value) ? path : `${path}.${key}`, depth + 1);
      if (found) return found;
    }
    return null;
  };
  for (const [name, value] of Object.entries(context)) {
    const found = walk(value, name, 0);
    if (found) return found;
  }
  return null;
}
