import fc from "fast-check";
import { expect, it } from "vitest";
import { CelError, celPerson, compile, evaluate } from "../../worker/cel/cel";
import { assertTranslatable } from "../../worker/reach/to-sql";

/**
 * Conditions are compiled when saved (a CelError answers 422), translated to SQL for role
 * conditions, and evaluated against members and events. Any other exception there would
 * be a 500 on save, or a run that fails without saying why.
 */

/** Names, literals at the limits of their types, operators and every function: joined at random. */
const TOKENS = [
  ...["member", "actor", "member.name", "member.labels", "actor.labels", "member.email", "event", "event.data"],
  ...["event.seq", "l", "x", '"a"', "1", "1u", "2.5", "-1", "true", "null", "[]", "{}", "[1,2]", '{"a":1}'],
  ...["b'x'", "r'x'", "0x10", "9223372036854775807", "-9223372036854775808", "18446744073709551615u"],
  ...["1e308", '"\\u0000"'],
  ...["+", "-", "*", "/", "%", "==", "!=", "<", "<=", ">", ">=", "&&", "||", "in", "?", ":", ".", "!"],
  ...["[", "]", "(", ")", ","],
  ...["size", "matches", "startsWith", "endsWith", "contains", "exists", "all", "map", "filter", "exists_one"],
  ...["int", "uint", "double", "string", "bytes", "timestamp", "duration", "has", "dyn", "type", "lowerAscii"],
  ...["upperAscii", "split", "join", "substring", "indexOf", "charAt", "replace", "trim"],
];
const token = fc.oneof(fc.constantFrom(...TOKENS), fc.string({ maxLength: 4 }));
const source = fc.array(token, { maxLength: 20 }).map((t) => t.join(" "));

/** Sources that reach the runtime's own failures: bad regexes, overflow, out-of-range indexes, bad conversions. */
const TARGETED = [
  "member.name.matches('(')",
  "member.name.matches('[')",
  "member.name.matches('a{99999}')",
  "'a'.matches(member.name)",
  "member.name.matches('(?<x>a)')",
  "member.name.matches('\\\\p{L}')",
  "member.name.matches('(?i)a')",
  "member.name.matches('a++')",
  "member.labels.exists(l, l.matches('('))",
  "member.name.matches(member.email)",
  "member.email.matches('^' + member.name)",
  "actor.name.matches('(')",
  "member.name.matches(actor.name)",
  "1/0 == 1",
  "size(member.name) / 0 == 1",
  "9223372036854775807 + 1 > 0",
  "-9223372036854775808 - 1 < 0",
  "member.labels[5] == 'a'",
  "member.name.substring(5) == ''",
  "member.name.charAt(99) == ''",
  "int('x') == 1",
  "timestamp('x') > timestamp('y')",
  "duration('1h') > duration('x')",
  "member.name < 1",
  "member.name.split(',').size() > 0",
];

const person = celPerson({ id: "mem_x", name: "A B", email: "", labels: ["x"], status: "active", role: "user" });
const event = { type: "member.created", seq: 1n, at: "", data: {} };

/** Compiles, translates (role conditions) and evaluates `source`; answers what escaped other than a CelError. */
function unexpectedFailure(source: string, kind: "role" | "action"): string | undefined {
  try {
    const compiled = compile(source, kind);
    if (kind === "role") assertTranslatable(compiled);
    evaluate(compiled, { member: person, actor: person, event });
  } catch (err) {
    if (!(err instanceof CelError)) return `${kind}: ${source} -> ${String(err).slice(0, 150)}`;
  }
  return undefined;
}

it("compiling, translating and evaluating any token soup fails only with a CelError", () => {
  fc.assert(
    fc.property(source, fc.constantFrom("role" as const, "action" as const), (src, kind) => {
      expect(unexpectedFailure(src, kind)).toBeUndefined();
    }),
    { numRuns: 20_000 },
  );
});

it("conditions that make the runtime itself fail are refused or evaluated with a CelError, never another error", () => {
  const failures = TARGETED.flatMap((src) => [unexpectedFailure(src, "role"), unexpectedFailure(src, "action")]);
  expect(failures.filter(Boolean)).toEqual([]);
});
