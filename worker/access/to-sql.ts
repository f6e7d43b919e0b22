import type { ASTNode } from "@marcbachmann/cel-js";
import { type SQL, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/sqlite-core";
import { memberLabels, members } from "../members/table";
import { CelError, type CelPerson, type Compiled } from "./cel";

/**
 * Translates a role's condition into a SQL predicate over the `members` row, so lists
 * filter in the query (pages stay full and stable) rather than after paging. `actor`
 * is known when the query is built: every subexpression that does not read `member`
 * is evaluated here and bound as a constant. The subset translated:
 *
 * - `&&`, `||`, `!`, `?:` over bools;
 * - `==`, `!=` between member fields and strings (or other member fields);
 * - `x in [..]` over constant lists, `"x" in member.labels` (a probe of member_labels),
 *   `member.labels.exists(l, ...)` and `.all(l, ...)`;
 * - `startsWith`, `endsWith`, `contains` on member fields.
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
  | { kind: "labels" };

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
const FIELDS: Record<Exclude<keyof CelPerson, "labels">, SQL> = {
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
};

/** Refuses, at save, a role condition that lists could not filter by. */
export function assertTranslatable(compiled: Compiled) {
  toSql(compiled, NOBODY);
}

function asPredicate(value: Value, node: ASTNode): SQL {
  if (value.kind === "bool") return value.sql;
  if (value.kind === "const" && typeof value.value === "boolean") return value.value ? sql`1` : sql`0`;
  throw new NotTranslatable("Expected a bool", node);
}

function asString(value: Value, scope: Scope, node: ASTNode): SQL {
  if (value.kind === "string") return value.sql;
  if (value.kind === "const" && typeof value.value === "string") return scope.bind(value.value);
  throw new NotTranslatable("Expected a string", node);
}

const isConst = (value: Value): value is { kind: "const"; value: unknown } => value.kind === "const";
const constant = (value: unknown): Value => ({ kind: "const", value });
const bool = (predicate: SQL): Value => ({ kind: "bool", sql: predicate });

function translate(node: ASTNode, scope: Scope): Value {
  switch (node.op) {
    case "value":
      return constant(node.args);
    case "id": {
      if (node.args === "member") return { kind: "member" };
      if (node.args === "actor") return scope.actor === "row" ? { kind: "member" } : constant(scope.actor);
      const bound = scope.vars.get(node.args);
      if (bound) return bound;
      throw new NotTranslatable(`Unsupported identifier ${node.args}`, node);
    }
    case ".": {
      const [target, field] = node.args;
      const of = translate(target, scope);
      if (of.kind === "member") {
        if (field === "labels") return { kind: "labels" };
        const column = FIELDS[field as keyof typeof FIELDS];
        if (column) return { kind: "string", sql: column };
      }
      if (isConst(of) && of.value && typeof of.value === "object" && field in of.value) {
        return constant((of.value as Record<string, unknown>)[field]);
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
      const [a, b] = node.args.map((arg) => translate(arg, scope)) as [Value, Value];
      const absorbing = node.op === "||";
      for (const [x, y] of [
        [a, b],
        [b, a],
      ] as const) {
        if (isConst(x) && typeof x.value === "boolean") return x.value === absorbing ? x : y;
      }
      const joiner = node.op === "&&" ? sql` and ` : sql` or `;
      return bool(sql`(${asPredicate(a, node.args[0])}${joiner}${asPredicate(b, node.args[1])})`);
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
        return bool(
          sql`(${needle} in (${sql.join(
            b.value.map((item) => scope.bind(item)),
            sql`, `,
          )}))`,
        );
      }
      throw new NotTranslatable("Unsupported `in`", node);
    }
    case "rcall":
      return translateCall(node, scope);
    default:
      throw new NotTranslatable(`Unsupported operator ${node.op}`, node);
  }
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
    const part = asString(arg, scope, argNodes[0] as ASTNode);
    if (isConst(arg) && arg.value === "") return constant(true);
    // substr and instr compare bytes exactly, as CEL does; LIKE would ignore ASCII case.
    if (name === "startsWith") return bool(sql`(substr(${text}, 1, length(${part})) = ${part})`);
    if (name === "endsWith") return bool(sql`(length(${part}) = 0 or substr(${text}, -length(${part})) = ${part})`);
    return bool(sql`(instr(${text}, ${part}) > 0)`);
  }
  throw new NotTranslatable(`Unsupported function ${name}`, node);
}

/** EXISTS over the member's labels (member_labels, keyed by member and label). */
function labelExists(scope: Scope, where: (label: SQL) => SQL, negate = false): Value {
  scope.aliases.n += 1;
  // Inside a raw template an alias renders as its name alone: name the table too.
  const name = `cel_labels_${scope.aliases.n}`;
  const l = alias(memberLabels, name);
  const probe = sql`exists (select 1 from ${memberLabels} as ${sql.identifier(name)}
    where ${l.memberId} = ${members.id} and ${where(sql`${l.label}`)})`;
  return bool(negate ? sql`not ${probe}` : probe);
}

function sameValue(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  if (typeof a === "bigint" || typeof b === "bigint") return Number(a) === Number(b);
  return a === b;
}
