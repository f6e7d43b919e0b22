import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { runUpgradesToGrace } from "../schema";

/**
 * The test setup (test/apply-migrations.ts) gives each test file's database the schema
 * as one batch that scripts/d1-schema.mjs made of the migrations (test/schema.ts), not
 * the migrations themselves. Here the real migrations and upgrades run on a database of
 * their own (UPGRADE_DB), so that the fast way can never drift from what a deployment has.
 */

/** Columns that hold the time a row was written: equal databases differ there. */
const WRITTEN_AT = new Set(["applied_at", "updated_at", "cursor_seq"]);

/** Every schema object (but D1's own) and every row of every table, but for the times they were written. */
async function contents(d1: D1Database) {
  const { results: objects } = await d1
    .prepare(
      "select type, name, tbl_name, sql from sqlite_master where name not like '\\_cf\\_%' escape '\\' order by type, name",
    )
    .all<{ type: string; name: string; tbl_name: string; sql: string | null }>();
  const tables = objects.filter((o) => o.type === "table").map((o) => o.name);
  const rows = await d1.batch<Record<string, unknown>>(tables.map((t) => d1.prepare(`select * from "${t}"`)));
  const data = tables.map((table, i) => [
    table,
    (rows[i]?.results ?? []).map((row) =>
      Object.fromEntries(Object.entries(row).map(([k, v]) => [k, WRITTEN_AT.has(k) ? typeof v : v])),
    ),
  ]);
  return { objects, rows: Object.fromEntries(data) };
}

describe("the test setup's schema", () => {
  it("is, object for object and row for row, what the migrations and their upgrades make", async () => {
    await applyD1Migrations(env.UPGRADE_DB, env.TEST_MIGRATIONS);
    await runUpgradesToGrace(env.UPGRADE_DB);
    const [fast, migrated] = [await contents(env.SHARD_0), await contents(env.UPGRADE_DB)];
    expect(migrated.rows.d1_migrations).toHaveLength(env.TEST_MIGRATIONS.length);
    expect(fast).toEqual(migrated);
  });
});
