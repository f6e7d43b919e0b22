import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import * as v from "valibot";
import { afterAll, expect } from "vitest";
import { Event } from "../worker/events/registry";
import { shardsOf } from "../worker/shards/shards";
import { runUpgrades } from "../worker/upgrades/run";

// Setup files run before each test file; applying migrations is idempotent: the directory's
// own, and the shards' to every shard. The online upgrades they start (worker/upgrades) are
// taken to their swap, as a deployment's Cron would.
await applyD1Migrations(env.DIRECTORY, env.TEST_DIRECTORY_MIGRATIONS);
for (const shard of shardsOf(env)) await applyD1Migrations(shard.d1, env.TEST_MIGRATIONS);
for (let runs = 0; ; runs++) {
  const progress = await runUpgrades(env, 5_000);
  if ((progress.done || progress.phase === "cleanup") && progress.registration.done) break;
  if (runs > 100) throw new Error(`the schema upgrade did not finish: ${JSON.stringify(progress)}`);
}

type StoredRow = { workspace_id: string; seq: number; type: string; at: string; data: string };

/** What of a stored event its registry schema refuses, or null. */
function eventIssues(row: StoredRow): string | null {
  const result = v.safeParse(Event, { seq: row.seq, type: row.type, at: row.at, data: JSON.parse(row.data) });
  if (result.success) return null;
  return result.issues.map((i) => `${v.getDotPath(i) ?? ""}: ${i.message}`).join("; ");
}

// Every event the file's tests appended matches its type's schema in the event registry
// (worker/events/registry.ts): most event data is built by SQL, which no compiler checks.
afterAll(async () => {
  const results: StoredRow[] = [];
  for (const shard of shardsOf(env)) {
    const stored = await shard.d1.prepare("select workspace_id, seq, type, at, data from events").all<StoredRow>();
    results.push(...stored.results);
  }
  const wrong = results.flatMap((row) => {
    const issues = eventIssues(row);
    return issues ? [`${row.type} #${row.seq} in ${row.workspace_id}: ${issues}`] : [];
  });
  expect(wrong.slice(0, 5)).toEqual([]);
});
