import type { ASTNode } from "@marcbachmann/cel-js";
import { type SQL, sql } from "drizzle-orm";
import { CelError, type CelPerson, type Compiled, compile } from "../cel/cel";
import { childrenOf } from "../cel/cel-cost";
import { ATTRIBUTE_KEY } from "../members/attributes";
import { members } from "../members/table";

/**
 * Translates a role's condition into a SQL predicate over the `members` row, so lists
 * filter in the query (pages stay full and stable) rather than after paging. `actor`
 * is known when the query is built: every subexpression that does not read `member`
 * is evaluated here and bound as a constant. The subset translated:
 *
 * - `&&`, `||`, `!`, `?:` over bools;
 * - `==`, `!=` between member fields and strings (or other member fields);
 * - `x in [..]` over constant lists, `"x" in member.labels` (over the row's labels),
 *   `member.labels.exists(l, ...)` and `.all(l, ...)`;
 * - `startsWith`, `endsWith`, `contains` on member fields;
 * - `member.attributes.<key>` (worker/members/attributes.ts): `==`, `!=` against constants,
 *   member fields or other attributes (type and value, as JSON), `<`, `<=`, `>`, `>=`
 *   against constant numbers, and as a string where it holds one. A missing key compares
 *   false either way, as CEL's evaluation error counts as false.
 *
 * Anything else is refused when the role is saved (see `assertTranslatable`).
 */

/** How a value goes into the statement: a bound parameter (or a numbered one, for search). */
export type Bind = (value: unknown) => SQL;
export const inline: Bind = (value) => sql`${value}`;

type Value =
  | { kind: "const"; value: unknown }
  | { kind: "string"; sql: SQL }
  | { kind: "bool"; sql: SQL }
  | { kind: "member" }
  | { kind: "labels" }
  | { kind: "attributes" }
  /** An attribute of the member's: `json` is its JSON text (`"pro"`, `42`, `true`), NULL when absent. */
  | { kind: "attribute"; json: SQL; type: SQL; text: SQL };

class NotTranslatable extends Error {
  constructor(
    message: string,
    readonly node: ASTNode,
  ) {
    super(message);
  }
}

const trimmedName = sql`trim(${members.name}, ' ')`;
const space = sql`instr(${trimmedName}, ' ')`;

/** Member fields as SQL; absent email/phone/external id read as "" (as ./cel.ts binds them). */
const FIELDS: Record<Exclude<keyof CelPerson, "labels" | "attributes">, SQL> = {
  id: sql`${members.id}`,
  name: sql`${members.name}`,
  first_name: sql`(case when ${space} > 0 then substr(${trimmedName}, 1, ${space} - 1) else ${trimmedName} end)`,
  last_name: sql`(case when ${space} > 0 then ltrim(substr(${trimmedName}, ${space} + 1), ' ') else '' end)`,
  email: sql`coalesce(${members.email}, '')`,
  phone: sql`coalesce(${members.phone}, '')`,
  external_id: sql`coalesce(${members.externalId}, '')`,
  status: sql`${members.status}`,
  role: sql`${members.role}`,
};

/**
 * `actor` as constants, or "row" when the member judged is the actor (a write on one's
 * own row): `actor` then reads the same row as `member`, as the write leaves it.
 */
export type Actor = CelPerson | "row";
type Scope = { bind: Bind; actor: Actor; vars: Map<string, Value>; aliases: { n: number } };

/** The predicate for `actor`; throws CelError for a condition outside the subset. */
export function toSql(compiled: Compiled, actor: Actor, bind: Bind = inline): SQL {
  try {
    const scope: Scope = { bind, actor, vars: new Map(), aliases: { n: 0 } };
    return asPredicate(translate(compiled.ast, scope), compiled.ast);
  } catch (err) {
    if (err instanceof NotTranslatable) {
      throw new CelError(
        `${err.message}: role conditions must translate to a query filter (see the docs of roles).`,
        err.node.start,
        compiled.source,
      );
    }
    throw err;
  }
}

const NOBODY: CelPerson = {
  id: "",
  name: "",
  first_name: "",
  last_name: "",
  email: "",
  phone: "",
  external_id: "",
  labels: [],
  status: "",
  role: "",
  attributes: {},
};

/**
 * The most values a condition's predicate may bind. D1 binds at most 100 per statement
 * (https://developers.cloudflare.com/d1/platform/limits/), and some statements hold the
 * predicate twice: `reachableRows` (the caller's own row, and the rest: label deletion,
 * an import chunk's stale count and guard), the outbox (holders by email and by phone),
 * and the widest, a merge's claim of an anonymous member (worker/anonymous/resolve.ts:
 * both members in reach), with 15 values of its own: 15 + 2 × 40 = 95. A statement holding
 * it once binds at most some 25 of its own (an invitation's insert, a labelled list).
 * A list binds one value, so only a chain of some 40 comparisons comes near.
 */
export const MAX_CONDITION_VALUES = 40;

/**
 * An upper bound on the values `toSql` binds, whatever the actor (or "row"). Each
 * operand's SQL appears once in its node's, and a constant binds once at most, where it
 * meets the member, or not at all when folded. So a subexpression that reads neither
 * `member`, a comprehension's variable nor `actor` binds at most one value; `actor` at
 * most one (a constant, or a column of the row); anything else what its operands bind.
 */
export function mostBoundValues(node: ASTNode): number {
  if (node.op === "id") return node.args === "actor" ? 1 : 0;
  if (!readsAnyone(node)) return 1;
  return childrenOf(node).reduce((sum, child) => sum + mostBoundValues(child), 0);
}

function readsAnyone(node: ASTNode): boolean {
  return node.op === "id" || childrenOf(node).some(readsAnyone);
}

/** Refuses, at save, a role condition that lists could not filter by, or whose filter binds too many values. */
export function assertTranslatable(compiled: Compiled) {
  toSql(compiled, NOBODY);
  const values = mostBoundValues(compiled.ast);
  if (values > MAX_CONDITION_VALUES) {
    throw new CelError(
      `Too many constants: its query filter could bind ${values} values, at most ${MAX_CONDITION_VALUES}; put alternatives in one list (member.email in ["a@x.test", "b@x.test"]), which counts as one.`,
      compiled.ast.start,
      compiled.source,
    );
  }
}

/**
 * A role's stored condition, or null when it no longer passes the checks at save (limits
 * tightened since: it no longer compiles, or binds more values than D1 takes). Null lets
 * nobody through, in SQL (./reach.ts) and on the live stream (durable-objects/watcher.ts) alike.
 */
export function savedRoleCondition(source: string): Compiled | null {
  try {
    const compiled = compile(source, "role");
    if (!translatable.has(compiled)) translatable.set(compiled, isTranslatable(compiled));
    return translatable.get(compiled) ? compiled : null;
  } catch (err) {
    if (err instanceof CelError) return null;
    throw err;
  }
}

/** Per compiled program (cached per isolate by ./cel.ts): the live stream asks per event and watcher. */
const translatable = new WeakMap<Compiled, boolean>();

function isTranslatable(compiled: Compiled): boolean {
  try {
    assertTranslatable(compiled);
    return true;
  } catch (err) {
    if (err instanceof CelError) return false;
    throw err;
  }
}

function asPredicate(value: Value, node: ASTNode): SQL {
  if (value.kind === "bool") return value.sql;
  if (value.kind === "const" && typeof value.value === "boolean") return value.value ? sql`1` : sql`0`;
  throw new NotTranslatable("Expected a bool", node);
}

function asString(value: Value, scope: Scope, node: ASTNode): SQL {
  if (value.kind === "string") return value.sql;
  if (value.kind === "attribute") return sql`(case when ${value.type} = 'text' then ${value.text} end)`;
  if (value.kind === "const" && typeof value.value === "string") return scope.bind(value.value);
  throw new NotTranslatable("Expected a string", node);
}

/** A value as JSON text, for comparing with an attribute by type and value. */
function asJson(value: Value, scope: Scope, node: ASTNode): SQL {
  if (value.kind === "attribute") return value.json;
  if (value.kind === "string") return sql`json_quote(${value.sql})`;
  if (isConst(value) && typeof value.value === "bigint") return scope.bind(JSON.stringify(Number(value.value)));
  if (isConst(value) && ["string", "number", "boolean"].includes(typeof value.value)) {
    return scope.bind(JSON.stringify(value.value));
  }
  if (isConst(value) && value.value === null) return sql`null`;
  throw new NotTranslatable("Attributes compare with strings, numbers and booleans", node);
}

/** `member.attributes.<key>`; a key no member can hold reads as absent. */
function attribute(key: string, node: ASTNode): Value {
  if (!ATTRIBUTE_KEY.test(key)) throw new NotTranslatable(`No attribute can be named ${key}`, node);
  // The key is checked against the pattern above, so the path is a literal: it binds no value.
  const path = sql.raw(`'$.${key}'`);
  return {
    kind: "attribute",
    json: sql`(${members.attributes} -> ${path})`,
    type: sql`json_type(${members.attributes}, ${path})`,
    text: sql`(${members.attributes} ->> ${path})`,
  };
}

const isConst = (value: Value): value is { kind: "const"; value: unknown } => value.kind === "const";
const constant = (value: unknown): Value => ({ kind: "const", value });
const bool = (predicate: SQL): Value => ({ kind: "bool", sql: predicate });

function translate(node: ASTNode, scope: Scope): Value {
  switch (node.op) {
    case "value":
      return constant(node.args);
    case "id": {
      // A loop variable hides an outer name, as in CEL: `labels.all(actor, actor != "x")` reads labels.
      const bound = scope.vars.get(node.args);
      if (bound) return bound;
      if (node.args === "member") return { kind: "member" };
      if (node.args === "actor") return scope.actor === "row" ? { kind: "member" } : constant(scope.actor);
      throw new NotTranslatable(`Unsupported identifier ${node.args}`, node);
    }
    case ".": {
      const [target, field] = node.args;
      const of = translate(target, scope);
      if (of.kind === "member") {
        if (field === "labels") return { kind: "labels" };
        if (field === "attributes") return { kind: "attributes" };
        const column = FIELDS[field as keyof typeof FIELDS];
        if (column) return { kind: "string", sql: column };
      }
      if (of.kind === "attributes") return attribute(field, node);
      if (isConst(of) && of.value && typeof of.value === "object" && !Array.isArray(of.value)) {
        // Type-checking admits only the person's fields, so a field missing is a map's key
        // (`actor.attributes.x`): CEL's error, false when compared (null matches nothing here).
        return constant(field in of.value ? (of.value as Record<string, unknown>)[field] : null);
      }
      throw new NotTranslatable(`Unsupported field ${field}`, node);
    }
    case "list": {
      const items = node.args.map((item) => translate(item, scope));
      if (items.every(isConst)) return constant(items.map((item) => item.value));
      throw new NotTranslatable("Lists must be constant", node);
    }
    case "!_": {
      const value = translate(node.args, scope);
      if (isConst(value) && typeof value.value === "boolean") return constant(!value.value);
      return bool(sql`not (${asPredicate(value, node.args)})`);
    }
    case "&&":
    case "||": {
      const operands = chain(node, node.op).map((arg) => ({ arg, value: translate(arg, scope) }));
      const absorbing = node.op === "||";
      const boolConstant = (v: Value) => (isConst(v) && typeof v.value === "boolean" ? v.value : undefined);
      if (operands.some(({ value }) => boolConstant(value) === absorbing)) return constant(absorbing);
      const rest = operands.filter(({ value }) => boolConstant(value) === undefined);
      const [first] = rest;
      if (!first) return constant(!absorbing);
      if (rest.length === 1) return first.value;
      const parts = rest.map(({ arg, value }) => asPredicate(value, arg));
      return bool(balanced(parts, node.op === "&&" ? sql` and ` : sql` or `));
    }
    case "?:": {
      const [test, then, otherwise] = node.args.map((arg) => translate(arg, scope)) as [Value, Value, Value];
      if (isConst(test) && typeof test.value === "boolean") return test.value ? then : otherwise;
      const when = asPredicate(test, node.args[0]);
      if (
        isConst(then) &&
        isConst(otherwise) &&
        typeof then.value === "string" &&
        typeof otherwise.value === "string"
      ) {
        return {
          kind: "string",
          sql: sql`(case when ${when} then ${scope.bind(then.value)} else ${scope.bind(otherwise.value)} end)`,
        };
      }
      return bool(
        sql`(case when ${when} then ${asPredicate(then, node.args[1])} else ${asPredicate(otherwise, node.args[2])} end)`,
      );
    }
    case "==":
    case "!=": {
      const [a, b] = node.args.map((arg) => translate(arg, scope)) as [Value, Value];
      const negate = node.op === "!=";
      if (isConst(a) && isConst(b)) return constant(sameValue(a.value, b.value) !== negate);
      const op = negate ? sql` <> ` : sql` = `;
      if (a.kind === "attribute" || b.kind === "attribute") {
        return bool(sql`(${asJson(a, scope, node.args[0])}${op}${asJson(b, scope, node.args[1])})`);
      }
      const isBool = (v: Value) => v.kind === "bool" || (isConst(v) && typeof v.value === "boolean");
      if (isBool(a) && isBool(b)) {
        return bool(sql`((${asPredicate(a, node.args[0])})${op}(${asPredicate(b, node.args[1])}))`);
      }
      return bool(sql`(${asString(a, scope, node.args[0])}${op}${asString(b, scope, node.args[1])})`);
    }
    case "in": {
      const [a, b] = node.args.map((arg) => translate(arg, scope)) as [Value, Value];
      if (isConst(a) && isConst(b) && Array.isArray(b.value)) {
        return constant(b.value.some((item) => sameValue(item, a.value)));
      }
      if (b.kind === "labels") {
        const label = asString(a, scope, node.args[0]);
        return labelExists(scope, (l) => sql`${l} = ${label}`);
      }
      if (isConst(b) && Array.isArray(b.value) && b.value.every((item) => typeof item === "string")) {
        const needle = asString(a, scope, node.args[0]);
        if (b.value.length === 0) return constant(false);
        // One value for the whole list (see MAX_CONDITION_VALUES).
        return bool(sql`(${needle} in (select value from json_each(${scope.bind(JSON.stringify(b.value))})))`);
      }
      throw new NotTranslatable("Unsupported `in`", node);
    }
    case "<":
    case "<=":
    case ">":
    case ">=": {
      const [a, b] = node.args.map((arg) => translate(arg, scope)) as [Value, Value];
      const side = (v: Value, arg: ASTNode) => {
        if (v.kind === "attribute") return sql`(case when ${v.type} in ('integer', 'real') then ${v.text} end)`;
        if (isConst(v) && typeof v.value === "bigint") return scope.bind(Number(v.value));
        if (isConst(v) && typeof v.value === "number" && Number.isFinite(v.value)) return scope.bind(v.value);
        throw new NotTranslatable("Only attributes compare by order, with numbers", arg);
      };
      if (isConst(a) && isConst(b)) throw new NotTranslatable("Unsupported comparison", node);
      return bool(sql`(${side(a, node.args[0])} ${sql.raw(node.op)} ${side(b, node.args[1])})`);
    }
    case "rcall":
      return translateCall(node, scope);
    default:
      throw new NotTranslatable(`Unsupported operator ${node.op}`, node);
  }
}

/** The operands of a chain of one operator (`a || b || c`), in order. */
function chain(node: ASTNode, op: "&&" | "||"): ASTNode[] {
  if (node.op !== op) return [node];
  return (node.args as ASTNode[]).flatMap((arg) => chain(arg, op));
}

/**
 * Joins as a balanced tree: D1 refuses expressions nested more than 100 deep, and a
 * chain of 50 comparisons joined in order nests 50 deep (inside a statement's own nesting).
 */
function balanced(parts: SQL[], joiner: SQL): SQL {
  const half = Math.ceil(parts.length / 2);
  if (half === parts.length) return parts[0] ?? sql`1`;
  return sql`(${balanced(parts.slice(0, half), joiner)}${joiner}${balanced(parts.slice(half), joiner)})`;
}

function translateCall(node: Extract<ASTNode, { op: "rcall" }>, scope: Scope): Value {
  const [name, receiverNode, argNodes] = node.args;
  if ((name === "exists" || name === "all") && argNodes.length === 2) {
    const receiver = translate(receiverNode, scope);
    const [variable, predicateNode] = argNodes as [ASTNode, ASTNode];
    if (receiver.kind !== "labels" || variable.op !== "id") {
      throw new NotTranslatable(`Unsupported ${name}(): only over member.labels`, node);
    }
    return labelExists(
      scope,
      (label) => {
        const inner = new Map(scope.vars).set(variable.args, { kind: "string", sql: label });
        const predicate = asPredicate(translate(predicateNode, { ...scope, vars: inner }), predicateNode);
        return name === "exists" ? predicate : sql`not (${predicate})`;
      },
      name === "all",
    );
  }
  if ((name === "startsWith" || name === "endsWith" || name === "contains") && argNodes.length === 1) {
    const receiver = translate(receiverNode, scope);
    const arg = translate(argNodes[0] as ASTNode, scope);
    if (isConst(receiver) && isConst(arg) && typeof receiver.value === "string" && typeof arg.value === "string") {
      const [r, a] = [receiver.value, arg.value];
      return constant(name === "startsWith" ? r.startsWith(a) : name === "endsWith" ? r.endsWith(a) : r.includes(a));
    }
    const text = asString(receiver, scope, receiverNode);
    if (isConst(arg) && arg.value === "") return constant(true);
    const part = asString(arg, scope, argNodes[0] as ASTNode);
    // substr and instr compare bytes exactly, as CEL does; LIKE would ignore ASCII case.
    // Each operand appears once, so its bound values count once (see MAX_CONDITION_VALUES):
    // a constant's length is a literal, and instr() finds any prefix at 1.
    if (name === "contains") return bool(sql`(instr(${text}, ${part}) > 0)`);
    if (isConst(arg) && typeof arg.value === "string") {
      const length = characters(arg.value);
      return bool(
        name === "startsWith"
          ? sql`(substr(${text}, 1, ${length}) = ${part})`
          : sql`(substr(${text}, -${length}) = ${part})`,
      );
    }
    if (name === "startsWith") return bool(sql`(instr(${text}, ${part}) = 1)`);
    return bool(sql`exists (select 1 from json_each(json_array(${part})) as p
      where length(p.value) = 0 or substr(${text}, -length(p.value)) = p.value)`);
  }
  throw new NotTranslatable(`Unsupported function ${name}`, node);
}

/** A string's length as SQLite counts it (code points), as a SQL integer literal. */
function characters(value: string): SQL {
  const length = [...value].length;
  if (!Number.isSafeInteger(length) || length < 1) throw new Error(`characters: bad length ${length}`);
  return sql.raw(String(length));
}

/** EXISTS over the member's labels (the row's own JSON array: no further row read). */
function labelExists(scope: Scope, where: (label: SQL) => SQL, negate = false): Value {
  scope.aliases.n += 1;
  // Inside a raw template an alias renders as its name alone: name each json_each apart.
  const name = sql.identifier(`cel_labels_${scope.aliases.n}`);
  const probe = sql`exists (select 1 from json_each(${members.labels}) as ${name} where ${where(sql`${name}.value`)})`;
  return bool(negate ? sql`not ${probe}` : probe);
}

function sameValue(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  if (typeof a === "bigint" || typeof b === "bigint") return Number(a) === Number(b);
  return a === b;
}
