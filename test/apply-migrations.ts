import { env } from "cloudflare:workers";
import * as v from "valibot";
import { afterAll, expect } from "vitest";
import { Event } from "../worker/events/registry";
import { applySchema } from "./schema";

// Setup files run before each test file, each on fresh storage: the migrations' schema in one
// batch, then the online upgrades they start, run as a deployment's Cron would (./schema.ts).
await applySchema(env.DB, env.TEST_SCHEMA);

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
  const { results } = await env.DB.prepare("select workspace_id, seq, type, at, data from events").all<StoredRow>();
  const wrong = results.flatMap((row) => {
    const issues = eventIssues(row);
    return issues ? [`${row.type} #${row.seq} in ${row.workspace_id}: ${issues}`] : [];
  });
  expect(wrong.slice(0, 5)).toEqual([]);
});
