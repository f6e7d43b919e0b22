import { env } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { SQLiteAsyncDialect } from "drizzle-orm/sqlite-core";
import { describe, expect, it } from "vitest";
import { type CelPerson, celPerson, compile, evaluate } from "../../worker/cel/cel";
import { type Actor, MAX_CONDITION_VALUES, mostBoundValues, toSql } from "../../worker/reach/to-sql";

/** The translation of role conditions (worker/reach/to-sql.ts), against D1 itself. */

const dialect = new SQLiteAsyncDialect({ casing: "snake_case" });

const person = (name: string, email: string, labels: string[] = []): CelPerson =>
  celPerson({ id: `mem_${name}`, name, email, phone: null, externalId: null, labels, status: "active", role: "user" });

const ACTOR = person("Ada Actor", "ada@desk.test", ["desk", "vip"]);

/** Whether D1 finds `condition` true of `member` (the row is a one-row subquery named members). */
async function holdsInSql(condition: string, member: CelPerson, actor: Actor = ACTOR) {
  const predicate = toSql(compile(condition, "role"), actor);
  const query =
    dialect.sqlToQuery(sql`select (${predicate}) as ok from (select ${member.id} as id, ${member.name} as name,
    ${member.email} as email, null as phone, null as external_id, ${member.status} as status, ${member.role} as role,
    ${JSON.stringify(member.labels)} as labels)
    as ${sql.identifier("members")}`);
  const row = await env.SCRATCH_A.prepare(query.sql)
    .bind(...query.params)
    .first<{ ok: number }>();
  return row?.ok === 1;
}

const MEMBERS = [
  person("Zoë Ünal", "zoe@ünal.test"),
  person("😀 Smile", "😀@emoji.test"),
  person("Al", "al@x"),
  person("Bo Bo", ""),
  person("Ann Annson", "ann@annson.test"),
];

describe("a translated condition", () => {
  it.each([
    `member.email.startsWith("zoe@ü")`,
    `member.email.endsWith("@ünal.test")`,
    `member.email.endsWith("😀@emoji.test")`,
    `member.email.startsWith("😀")`,
    `member.name.endsWith("Al")`,
    `member.name.startsWith("A very long prefix, longer than any name")`,
    `member.email.startsWith("")`,
    `member.email.endsWith("")`,
    `member.email.contains("@")`,
    `member.email.startsWith(member.first_name)`,
    `member.email.endsWith(member.last_name)`,
    `member.name.endsWith(member.email.startsWith("ann") ? "son" : "Bo")`,
    `member.name.startsWith(member.email.endsWith(".test") ? "Zo" : "😀")`,
    `member.email in ["al@x", "ann@annson.test", "😀@emoji.test"]`,
    `member.first_name in ["Zoë", "Bo"] || member.email == actor.email`,
    `member.labels.all(l, l in actor.labels) && member.name.startsWith(actor.first_name)`,
  ])("agrees with CEL on every member: %s", async (condition) => {
    const compiled = compile(condition, "role");
    for (const member of MEMBERS) {
      expect(await holdsInSql(condition, member), member.name).toBe(evaluate(compiled, { member, actor: ACTOR }));
    }
  });

  it("binds a list of constants as one value, however long", () => {
    const addresses = Array.from({ length: 50 }, (_, i) => `"m${i}@in.test"`).join(", ");
    const compiled = compile(`member.email in [${addresses}] || member.role in actor.labels`, "role");
    expect(dialect.sqlToQuery(toSql(compiled, ACTOR)).params).toHaveLength(2);
  });

  it.each([
    `member.email.startsWith("a") || member.email.endsWith("b") || member.email.contains("c")`,
    `member.name.endsWith(member.email.startsWith("ann") ? "son" : "Bo")`,
    `actor.email == "x" ? member.name == "a" : member.labels.exists(l, l in ["a", "b"] || l == actor.name)`,
    `"vip" in actor.labels || member.email.endsWith(actor.email) || actor.first_name in member.labels`,
    `member.labels.exists(l, l.startsWith(actor.last_name) && l != "x") || member.role in ["a", "b"]`,
  ])("binds no more values than counted when saved, whoever the actor: %s", (condition) => {
    const compiled = compile(condition, "role");
    for (const actor of [ACTOR, person("", ""), person("x", "x"), "row"] as const) {
      const bound = dialect.sqlToQuery(toSql(compiled, actor)).params.length;
      expect(bound).toBeLessThanOrEqual(mostBoundValues(compiled.ast));
    }
  });

  it(`counts a chain of comparisons one value each, up to the most saved (${MAX_CONDITION_VALUES})`, () => {
    const chain = Array.from({ length: MAX_CONDITION_VALUES }, (_, i) => `l == "v${i}"`).join(" || ");
    const compiled = compile(`member.labels.exists(l, ${chain})`, "role");
    expect(mostBoundValues(compiled.ast)).toBe(MAX_CONDITION_VALUES);
    expect(dialect.sqlToQuery(toSql(compiled, ACTOR)).params).toHaveLength(MAX_CONDITION_VALUES);
  });
});
