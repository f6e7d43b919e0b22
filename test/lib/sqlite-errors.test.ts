import { env } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { database } from "../../worker/lib/db";
import { isCheckViolation, isUniqueViolation, sqliteFailure } from "../../worker/lib/sqlite-errors";

/** The error D1 throws for a statement, straight or through drizzle (which wraps it in `cause`). */
async function failureOf(statement: string, ...values: unknown[]) {
  const direct = await env.SCRATCH_A.prepare(statement)
    .bind(...values)
    .run()
    .then(
      () => undefined,
      (err: unknown) => err,
    );
  const viaDrizzle = await database(env.SCRATCH_A)
    .run(sql.raw(statement.replace(/\?/g, () => `'${String(values.shift() ?? "")}'`)))
    .then(
      () => undefined,
      (err: unknown) => err,
    );
  return { direct, viaDrizzle };
}

describe("sqliteFailure reads D1's own error text", () => {
  beforeAll(async () => {
    await env.SCRATCH_A.batch([
      env.SCRATCH_A.prepare("drop table if exists errors_probe"),
      env.SCRATCH_A.prepare(`create table errors_probe (
        ws text not null, email text not null, n integer,
        constraint probe_positive check (n is null or n > 0), primary key (ws, email))`),
      env.SCRATCH_A.prepare("insert into errors_probe (ws, email) values ('w', 'taken@x.test')"),
    ]);
  });

  it("names the table and columns of a unique index or primary key that refused a row", async () => {
    const { direct, viaDrizzle } = await failureOf("insert into errors_probe (ws, email) values ('w', 'taken@x.test')");
    for (const err of [direct, viaDrizzle]) {
      expect(sqliteFailure(err)).toEqual({
        kind: "unique",
        table: "errors_probe",
        columns: ["errors_probe.ws", "errors_probe.email"],
      });
      expect(isUniqueViolation(err, "errors_probe", "email")).toBe(true);
      expect(isUniqueViolation(err, "members")).toBe(false);
    }
  });

  it("names the CHECK constraint that refused a row", async () => {
    const { direct, viaDrizzle } = await failureOf("insert into errors_probe values ('w', 'neg@x.test', -1)");
    for (const err of [direct, viaDrizzle]) {
      expect(sqliteFailure(err)).toEqual({ kind: "check", constraint: "probe_positive" });
      expect(isCheckViolation(err, "probe_positive")).toBe(true);
      expect(isCheckViolation(err, "forbidden_by_condition")).toBe(false);
    }
  });

  it("names the column a NULL was refused in", async () => {
    const { direct } = await failureOf("insert into errors_probe (ws, email) values ('w', null)");
    expect(sqliteFailure(direct)).toEqual({ kind: "not_null", column: "errors_probe.email" });
  });

  it("tells a statement binding more values than D1 takes", async () => {
    const values = Array.from({ length: 101 }, (_, i) => i);
    const err = await env.SCRATCH_A.prepare(`select ${values.map(() => "?").join(", ")}`)
      .bind(...values)
      .all()
      .catch((e: unknown) => e);
    expect(sqliteFailure(err)).toEqual({ kind: "too_many_variables" });
  });

  it("reads the same text from an error that crossed an RPC as a plain Error, and D1's limits the local D1 does not enforce", () => {
    // The local D1 takes strings over 2,000,000 bytes (worker/lib/json-parts.ts); deployed D1 answers this.
    expect(sqliteFailure(new Error("D1_ERROR: string or blob too big: SQLITE_TOOBIG"))).toEqual({ kind: "too_big" });
    const crossed = new Error(
      "D1_ERROR: UNIQUE constraint failed: members.workspace_id, members.email: SQLITE_CONSTRAINT",
    );
    expect(isUniqueViolation(crossed, "members", "email")).toBe(true);
  });

  it("calls anything else other", () => {
    expect(sqliteFailure(new Error("network connection lost"))).toEqual({ kind: "other" });
    expect(sqliteFailure(undefined)).toEqual({ kind: "other" });
  });
});
