// `npm run db:migrate`: applies the migrations to the directory (binding DIRECTORY, its own
// migrations/directory) and to every shard (bindings SHARD_<n>, all migrations/), as
// wrangler.toml lists them: a new shard is a new binding there, then this command.
// `-- --remote`: a deployment's databases, through `wrangler d1 migrations apply <name> --remote`,
// one database after another. Otherwise the local ones (`--persist-to <dir>` as wrangler dev's),
// all in one local runtime (wrangler's getPlatformProxy) rather than one wrangler process
// each, kept in wrangler's own table of applied migrations (`d1_migrations`), so
// `wrangler d1 migrations apply --local` and this command agree on what is applied.
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const MIGRATED = /^(DIRECTORY|SHARD_\d+)$/;
const SCRIPT = fileURLToPath(import.meta.url);
/** The local runtime runs no Worker, so it warns that the Durable Object class is missing: harmless here. */
const HARMLESS = /A DurableObjectNamespace in the config referenced the class/;

/**
 * The D1 databases this command migrates, in wrangler.toml's order: each `[[d1_databases]]`
 * whose binding is DIRECTORY or SHARD_<n>.
 * @param {string} [config] wrangler.toml's text
 * @returns {{ binding: string; name: string; migrationsDir: string }[]}
 */
export function migratedDatabases(config = readFileSync("wrangler.toml", "utf8")) {
  return config
    .split(/^\[\[d1_databases\]\]\s*$/m)
    .slice(1)
    .map((block) => ({
      binding: /^binding\s*=\s*"([^"]+)"/m.exec(block)?.[1] ?? "",
      name: /^database_name\s*=\s*"([^"]+)"/m.exec(block)?.[1] ?? "",
      migrationsDir: /^migrations_dir\s*=\s*"([^"]+)"/m.exec(block)?.[1] ?? "migrations",
    }))
    .filter((db) => MIGRATED.test(db.binding) && db.name);
}

/**
 * Runs this command in a child process and waits for it; throws when it fails. `quiet`
 * keeps its output (and wrangler's) off the terminal unless it fails.
 * @param {{ remote?: boolean; persistTo?: string; quiet?: boolean; env?: NodeJS.ProcessEnv }} [options]
 */
export function migrateAll({ remote = false, persistTo, quiet = false, env = process.env } = {}) {
  const args = [SCRIPT, "--child", ...(remote ? ["--remote"] : []), ...(persistTo ? ["--persist-to", persistTo] : [])];
  const run = spawnSync(process.execPath, args, {
    env: { WRANGLER_SEND_METRICS: "false", ...env },
    encoding: "utf8",
    stdio: remote && !quiet ? "inherit" : "pipe",
  });
  const output = `${run.stdout ?? ""}${run.stderr ?? ""}`
    .split("\n")
    .filter((line) => !HARMLESS.test(line))
    .join("\n");
  if (run.status !== 0) throw new Error(`npm run db:migrate failed:\n${output}`);
  if (!quiet) process.stdout.write(output);
}

/** A deployment's databases, one `wrangler d1 migrations apply --remote` each. */
function migrateRemote() {
  for (const { binding, name } of migratedDatabases()) {
    console.log(`${binding} (${name})`);
    const run = spawnSync("npx", ["wrangler", "d1", "migrations", "apply", name, "--remote"], { stdio: "inherit" });
    if (run.status !== 0) throw new Error(`the migrations of ${binding} (${name}) failed`);
  }
}

/** The migrations of a folder: its .sql files in name order, each split into statements as wrangler splits them. */
function readMigrations(dir, split) {
  return readdirSync(dir)
    .filter((file) => file.endsWith(".sql"))
    .sort()
    .map((name) => ({ name, queries: split(readFileSync(path.join(dir, name), "utf8")) }));
}

/** The local databases, in one local runtime: each migration not yet applied, in one batch with its record. */
async function migrateLocal(persistTo) {
  process.env.WRANGLER_LOG ??= "error";
  const { getPlatformProxy, unstable_splitSqlQuery: split } = await import("wrangler");
  const persist = persistTo ? { path: path.join(persistTo, "v3") } : true;
  const proxy = await getPlatformProxy({ persist, remoteBindings: false });
  try {
    for (const { binding, name, migrationsDir } of migratedDatabases()) {
      const d1 = proxy.env[binding];
      await d1
        .prepare(
          `CREATE TABLE IF NOT EXISTS d1_migrations(
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT UNIQUE,
            applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL
          )`,
        )
        .run();
      const applied = new Set((await d1.prepare("SELECT name FROM d1_migrations").all()).results.map((r) => r.name));
      const pending = readMigrations(migrationsDir, split).filter((m) => !applied.has(m.name));
      for (const migration of pending) {
        await d1.batch([
          ...migration.queries.map((query) => d1.prepare(query)),
          d1.prepare("INSERT INTO d1_migrations (name) VALUES (?)").bind(migration.name),
        ]);
      }
      console.log(`${binding} (${name}): ${pending.length} migration(s) applied, ${applied.size} already were`);
    }
  } finally {
    await proxy.dispose();
  }
}

if (process.argv[1] === SCRIPT) {
  const args = process.argv.slice(2);
  const persistAt = args.indexOf("--persist-to");
  const persistTo = persistAt >= 0 ? args[persistAt + 1] : undefined;
  try {
    // Run from the command line: again as a child, whose output is shown without the harmless warning.
    if (!args.includes("--child")) migrateAll({ remote: args.includes("--remote"), persistTo });
    else if (args.includes("--remote")) migrateRemote();
    else await migrateLocal(persistTo);
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  }
}
