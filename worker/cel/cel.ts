import { type ASTNode, Environment, type ParseResult } from "@marcbachmann/cel-js";
import { ApiError, type Issue } from "../lib/errors";
import {
  COMPREHENSIONS,
  CostError,
  childrenOf,
  inputRefusal,
  MAX_INPUT_ITEMS,
  MAX_STEPS,
  worstSteps,
} from "./cel-cost";

/**
 * CEL conditions (https://github.com/google/cel-spec) over `member` and `actor` (roles)
 * or `member` and `event` (actions). Compiled and type-checked when saved; evaluated
 * with the compiled program, cached per isolate by source.
 */

/** The fields of `member` and `actor`, as `../shared/spec/product.md` names them. */
const PERSON = {
  id: "string",
  name: "string",
  first_name: "string",
  last_name: "string",
  email: "string",
  phone: "string",
  external_id: "string",
  labels: "list<string>",
  status: "string",
  role: "string",
  attributes: "map<string, dyn>",
} as const;

type AttributeValue = string | number | boolean;
export type CelPerson = {
  [K in keyof typeof PERSON]: K extends "labels"
    ? readonly string[]
    : K extends "attributes"
      ? Readonly<Record<string, AttributeValue>>
      : string;
};
export const PERSON_FIELDS = Object.keys(PERSON) as (keyof CelPerson)[];

/** The longest condition accepted. */
export const MAX_SOURCE = 1000;
/** Longest string literal, and comprehension (exists/all/map/filter) nesting. */
const MAX_LITERAL = 256;
const MAX_COMPREHENSION_DEPTH = 2;

/**
 * Parse-time limits: what a saved expression may cost. With no loops but the bounded
 * comprehensions over a member's labels, evaluation is then bounded by these too.
 */
const limits = { maxAstNodes: 200, maxDepth: 16, maxListElements: 50, maxMapEntries: 20, maxCallArguments: 8 };

export type ConditionKind = "role" | "action";

const environments: Record<ConditionKind, Environment> = {
  role: new Environment({ limits })
    .registerVariable({ name: "member", schema: PERSON })
    .registerVariable({ name: "actor", schema: PERSON }),
  action: new Environment({ limits }).registerVariable({ name: "member", schema: PERSON }).registerVariable({
    name: "event",
    schema: { type: "string", seq: "int", at: "string", data: "map<string, dyn>" },
  }),
};

/** A condition that parsed, type-checked as bool, and stayed within the limits. */
export type Compiled = { source: string; kind: ConditionKind; program: ParseResult; ast: ASTNode };

/** A condition the caller must fix, with where. */
export class CelError extends Error {
  constructor(
    message: string,
    readonly offset: number,
    readonly source: string,
  ) {
    super(message);
  }

  /** 1-based line and column of `offset`. */
  get position() {
    const before = this.source.slice(0, this.offset).split("\n");
    return { line: before.length, column: (before.at(-1)?.length ?? 0) + 1, offset: this.offset };
  }

  toIssue(path: string): Issue {
    const { line, column, offset } = this.position;
    return { path, message: `${this.message} (line ${line}, column ${column})`, line, column, offset };
  }
}

const CACHE_SIZE = 500;
const cache = new Map<string, Compiled>();

/** Compiles and checks a condition; throws CelError. Cached per isolate by kind and source. */
export function compile(source: string, kind: ConditionKind): Compiled {
  const key = `${kind}\u0000${source}`;
  const hit = cache.get(key);
  if (hit) return hit;
  if (source.length > MAX_SOURCE) throw new CelError(`Conditions are limited to ${MAX_SOURCE} characters.`, 0, source);
  const env = environments[kind];
  const checked = env.check(source);
  if (!checked.valid) {
    const error = checked.error;
    throw new CelError(error?.summary ?? "Invalid expression.", error?.range?.start ?? 0, source);
  }
  if (checked.type !== "bool") throw new CelError(`The condition must be a bool, not ${checked.type}.`, 0, source);
  const program = env.parse(source);
  boundCost(program.ast, source);
  boundSteps(program.ast, source);
  const compiled: Compiled = { source, kind, program, ast: program.ast };
  if (cache.size >= CACHE_SIZE) {
    const oldest = cache.keys().next().value;
    if (oldest !== undefined) cache.delete(oldest);
  }
  cache.set(key, compiled);
  return compiled;
}

/** Refuses what the parser's limits let through: long literals, nested comprehensions. */
function boundCost(node: ASTNode, source: string, comprehensions = 0) {
  if (node.op === "value" && typeof node.args === "string" && node.args.length > MAX_LITERAL) {
    throw new CelError(`String literals are limited to ${MAX_LITERAL} characters.`, node.start, source);
  }
  let depth = comprehensions;
  if (node.op === "rcall" && COMPREHENSIONS.has(node.args[0])) {
    depth += 1;
    if (depth > MAX_COMPREHENSION_DEPTH) {
      throw new CelError(`Comprehensions nest at most ${MAX_COMPREHENSION_DEPTH} deep.`, node.start, source);
    }
  }
  for (const child of childrenOf(node)) boundCost(child, source, depth);
}

/** Refuses what could take too long over inputs within the evaluation bounds (./cel-cost.ts). */
function boundSteps(ast: ASTNode, source: string) {
  try {
    if (worstSteps(ast) > MAX_STEPS) {
      throw new CelError(
        `Too costly: over lists of up to ${MAX_INPUT_ITEMS} items this could take more than ${MAX_STEPS} steps; nest fewer comprehensions or simplify their bodies.`,
        ast.start,
        source,
      );
    }
  } catch (err) {
    if (err instanceof CostError) throw new CelError(err.message, err.node.start, source);
    throw err;
  }
}

/** Compiles or answers 422 naming the field and the position. */
export function compileOr422(source: string, kind: ConditionKind, path = "condition"): Compiled {
  try {
    return compile(source, kind);
  } catch (err) {
    if (err instanceof CelError) throw invalidCondition(err, path);
    throw err;
  }
}

export function invalidCondition(err: CelError, path = "condition") {
  return new ApiError(422, "invalid_condition", `The condition is not valid: ${err.message}`, {
    issues: [err.toIssue(path)],
  });
}

/** An evaluation's result, or why it was refused (inputs beyond the bounds of ./cel-cost.ts). */
export type Outcome = { ok: true; value: boolean } | { ok: false; reason: string };

/**
 * Evaluates within the bounds: inputs beyond them are refused without evaluating, so
 * the worst case checked when the condition was saved holds. An evaluation error (a
 * missing map key, say) counts as false.
 */
export function evaluateOutcome(compiled: Compiled, context: Record<string, unknown>): Outcome {
  const refused = inputRefusal(context);
  if (refused) return { ok: false, reason: `The condition was not evaluated: ${refused}.` };
  // Timing it would not help: a Worker's clock stands still while code runs without I/O.
  try {
    return { ok: true, value: compiled.program(context) === true };
  } catch {
    return { ok: true, value: false };
  }
}

/** Evaluates to a bool, failing closed: refused inputs count as false (a role condition lets nobody through). */
export function evaluate(compiled: Compiled, context: Record<string, unknown>): boolean {
  const outcome = evaluateOutcome(compiled, context);
  return outcome.ok && outcome.value;
}

/** The member JSON of the API and events, as CEL's `member`/`actor`. */
export type MemberLike = {
  id: string;
  name: string;
  email?: string | null;
  phone?: string | null;
  externalId?: string | null;
  labels?: readonly string[] | null;
  status?: string | null;
  role?: string | null;
  attributes?: Readonly<Record<string, AttributeValue>> | null;
};

export function celPerson(member: MemberLike): CelPerson {
  const { first, last } = splitName(member.name ?? "");
  return {
    id: member.id,
    name: member.name ?? "",
    first_name: first,
    last_name: last,
    email: member.email ?? "",
    phone: member.phone ?? "",
    external_id: member.externalId ?? "",
    labels: [...(member.labels ?? [])],
    status: member.status ?? "",
    role: member.role ?? "",
    attributes: { ...(member.attributes ?? {}) },
  };
}

/**
 * First name: up to the first space; last name: the rest. Spaces only, as SQLite's
 * trim() and instr() see them (./to-sql.ts computes the same in the query).
 */
export function splitName(name: string) {
  const trimmed = name.replace(/^ +| +$/g, "");
  const space = trimmed.indexOf(" ");
  if (space < 0) return { first: trimmed, last: "" };
  return { first: trimmed.slice(0, space), last: trimmed.slice(space + 1).replace(/^ +/, "") };
}
