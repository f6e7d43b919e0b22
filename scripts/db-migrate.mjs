// `npm run db:migrate`: applies the migrations to the directory (binding DIRECTORY, its own
// migrations/directory) and to every shard (bindings SHARD_<n>, all migrations/), as
// wrangler.toml lists them: a new shard is a new binding there, then this command.
// Local databases by default (`--persist-to <dir>` as wrangler dev's); `-- --remote` for a deployment's.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const MIGRATED = /^(DIRECTORY|SHARD_\d+)$/;

/**
 * The D1 databases this command migrates, in wrangler.toml's order: each `[[d1_databases]]`
 * whose binding is DIRECTORY or SHARD_<n>.
 * @param {string} [config] wrangler.toml's text
 * @returns {{ binding: string; name: string }[]}
 */
export function migratedDatabases(config = readFileSync("wrangler.toml", "utf8")) {
  return config
    .split(/^\[\[d1_databases\]\]\s*$/m)
    .slice(1)
    .map((block) => ({
      binding: /^binding\s*=\s*"([^"]+)"/m.exec(block)?.[1] ?? "",
      name: /^database_name\s*=\s*"([^"]+)"/m.exec(block)?.[1] ?? "",
    }))
    .filter((db) => MIGRATED.test(db.binding) && db.name);
}

/**
 * Applies every database's migrations, one database after the other; throws on the first
 * failure. `quiet` keeps wrangler's tables off the terminal unless it fails.
 * @param {{ remote?: boolean; persistTo?: string; quiet?: boolean; env?: NodeJS.ProcessEnv }} [options]
 */
export function migrateAll({ remote = false, persistTo, quiet = false, env = process.env } = {}) {
  const where = remote ? ["--remote"] : ["--local", ...(persistTo ? ["--persist-to", persistTo] : [])];
  for (const { binding, name } of migratedDatabases()) {
    const args = ["wrangler", "d1", "migrations", "apply", name, ...where];
    const run = spawnSync("npx", args, {
      env: { WRANGLER_SEND_METRICS: "false", ...env },
      encoding: "utf8",
      stdio: quiet ? "pipe" : "inherit",
    });
    if (run.status !== 0) {
      throw new Error(`migrations of ${binding} (${name}) failed:\n${run.stdout ?? ""}${run.stderr ?? ""}`);
    }
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const persistAt = args.indexOf("--persist-to");
  try {
    migrateAll({
      remote: args.includes("--remote"),
      persistTo: persistAt >= 0 ? args[persistAt + 1] : undefined,
    });
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  }
}
