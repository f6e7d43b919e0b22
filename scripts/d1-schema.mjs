import { DatabaseSync } from "node:sqlite";

/**
 * What a D1 database holds after a list of migrations (readD1Migrations' output), as
 * statements that make it again in one D1 batch: the tables, the rows the migrations
 * insert (and the migrations table's, so applyD1Migrations would apply none again),
 * then the indexes, views and triggers. The test setup (test/schema.ts) applies it to
 * each test file's fresh database instead of the migrations themselves: replaying them
 * rebuilds tables, creates triggers that later ones drop, and takes a batch each.
 * test/upgrades/test-schema.test.ts checks that it makes what the migrations make.
 *
 * The migrations run here in Node's SQLite (node:sqlite), each in one transaction, as
 * applyD1Migrations runs them in D1.
 * @param {{ name: string; queries: string[] }[]} migrations
 * @returns {string[]}
 */
export function schemaStatements(migrations) {
  const db = new DatabaseSync(":memory:");
  try {
    // As @cloudflare/vitest-plugin's applyD1Migrations (and wrangler) create it.
    db.exec(`CREATE TABLE IF NOT EXISTS "d1_migrations" (
		id         INTEGER PRIMARY KEY AUTOINCREMENT,
		name       TEXT UNIQUE,
		applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL
	);`);
    const record = db.prepare(`INSERT INTO "d1_migrations" (name) VALUES (?);`);
    for (const migration of migrations) {
      db.exec("BEGIN");
      for (const query of migration.queries) db.exec(query);
      record.run(migration.name);
      db.exec("COMMIT");
    }
    return dump(db);
  } finally {
    db.close();
  }
}

/** @param {DatabaseSync} db */
function dump(db) {
  const objects = /** @type {{ type: string; name: string; sql: string }[]} */ (
    db
      .prepare(
        "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid",
      )
      .all()
  );
  const ofType = (/** @type {string} */ type) => objects.filter((o) => o.type === type);
  const tables = ofType("table");
  // The rows go in before the indexes (faster) and the triggers (which would fire on them).
  return [
    ...tables.map((o) => o.sql),
    ...tables.flatMap((o) => inserts(db, o.name)),
    ...["index", "view", "trigger"].flatMap((type) => ofType(type).map((o) => o.sql)),
  ];
}

/** @param {DatabaseSync} db @param {string} table */
function inserts(db, table) {
  const name = quoteName(table);
  // Generated columns (hidden 2 and 3) cannot be written.
  const columns = /** @type {{ name: string; hidden: number }[]} */ (db.prepare(`PRAGMA table_xinfo(${name})`).all())
    .filter((c) => c.hidden === 0)
    .map((c) => quoteName(c.name));
  // SQLite's quote() writes each value as the literal that reads back the same value and type.
  const values = columns.map((c) => `quote(${c})`).join(" || ', ' || ");
  const rows = /** @type {{ v: string }[]} */ (db.prepare(`SELECT ${values} AS v FROM ${name}`).all());
  return rows.map(({ v }) => `INSERT INTO ${name} (${columns.join(", ")}) VALUES (${v})`);
}

/** @param {string} name */
const quoteName = (name) => `"${name.replaceAll('"', '""')}"`;
