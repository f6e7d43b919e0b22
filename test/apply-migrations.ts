import { env } from "cloudflare:workers";
import * as v from "valibot";
import { afterAll, expect } from "vitest";
import { Event } from "../worker/events/registry";
import { shardsOf } from "../worker/shards/shards";
import { runUpgrades } from "../worker/upgrades/run";
import { applySchema, applyStatements } from "./schema";

// Setup files run before each test file, each on fresh storage: the directory's schema and
// every shard's, one batch each of what their migrations make (./schema.ts); then the online
// upgrades those start and the directory's registration of shard 0's workspaces, run as a
// deployment's Cron would.
await applyStatements(env.DIRECTORY, env.TEST_DIRECTORY_SCHEMA);
for (const shard of shardsOf(env)) await applySchema(shard.d1, env.TEST_SCHEMA);
for (let runs = 0; ; runs++) {
  const progress = await runUpgrades(env, 5_000);
  if ((progress.done || progress.phase === "cleanup") && progress.registration.done) break;
  if (runs > 100) throw new Error(`the schema upgrade did not finish: ${JSON.stringify(progress)}`);
}

type StoredRow = { workspace_id: string; seq: number; type: string; at: string; data: string; actor: string };

/** What of a stored event its registry schema refuses, or null. */
function eventIssues(row: StoredRow): string | null {
  const result = v.safeParse(Event, {
    seq: row.seq,
    type: row.type,
    at: row.at,
    data: JSON.parse(row.data),
    actor: JSON.parse(row.actor),
  });
  if (result.success) return null;
  return result.issues.map((i) => `${v.getDotPath(i) ?? ""}: ${i.message}`).join("; ");
}

// Every event the file's tests appended matches its type's schema in the event registry
// (worker/events/registry.ts): most event data is built by SQL, which no compiler checks.
afterAll(async () => {
  const results: StoredRow[] = [];
  for (const shard of shardsOf(env)) {
    const stored = await shard.d1
      .prepare("select workspace_id, seq, type, at, data, actor from events")
      .all<StoredRow>();
    results.push(...stored.results);
  }
  const wrong = results.flatMap((row) => {
    const issues = eventIssues(row);
    return issues ? [`${row.type} #${row.seq} in ${row.workspace_id}: ${issues}`] : [];
  });
  expect(wrong.slice(0, 5)).toEqual([]);
});
