import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { ImportMessage } from "../../worker/imports/message";
import { consumeImports, type ImportBudget } from "../../worker/imports/queue";
import { startImport } from "../../worker/imports/upload";
import { database } from "../../worker/lib/db";
import { ALL_SCOPES, type Scope } from "../../worker/roles/scopes";
import { shardDb } from "../db";
import { call, type Workspace } from "../helpers";

/**
 * Helpers for import tests. Imports run on the real "imports" queue of the test
 * runtime: `importCsv` uploads, `waitForImport` polls GET /v1/imports/{id} until the
 * consumer has finished.
 */

/** POSTs a CSV body; answers the raw response (202 with {id, status} when accepted). */
export function postCsv(ws: Workspace, csv: string, options: { role?: string; key?: string } = {}) {
  const query = options.role ? `?role=${encodeURIComponent(options.role)}` : "";
  return call("POST", `/v1/imports${query}`, {
    key: options.key ?? ws.key,
    headers: { "Content-Type": "text/csv" },
    rawBody: csv,
  });
}

/** Polls the import until it is no longer running and answers its final JSON. */
export async function waitForImport(ws: Workspace, id: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await call("GET", `/v1/imports/${id}`, { key: ws.key });
    if (res.status !== 200) throw new Error(`GET import: ${res.status} ${JSON.stringify(res.body)}`);
    if (res.body.status !== "running") return res.body;
    if (Date.now() > deadline) throw new Error(`import ${id} still running: ${JSON.stringify(res.body)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Uploads a CSV and waits for the import to end; answers its final JSON. */
export async function importCsv(ws: Workspace, csv: string, options: { role?: string; key?: string } = {}) {
  const res = await postCsv(ws, csv, options);
  if (res.status !== 202) throw new Error(`import refused: ${res.status} ${JSON.stringify(res.body)}`);
  return waitForImport(ws, res.body.id);
}

/** Lines of a CSV, joined with CRLF as spreadsheets write them. */
export const csv = (...lines: string[]) => `${lines.join("\r\n")}\r\n`;

/**
 * Records an import as POST /v1/imports does, without queueing it: a test then drives
 * its chunks by hand (`processWindow`, `deliver`), and it stays running until it does.
 * By the owner with every scope unless `importer` says who uploads, with which scopes.
 */
export async function recordUpload(
  ws: Workspace,
  body: string,
  options: { importer?: { id: string; scopes: readonly string[] }; role?: string } = {},
) {
  const importer = options.importer ?? { id: ws.ownerId, scopes: ALL_SCOPES };
  const caller = {
    workspaceId: ws.id,
    memberId: importer.id,
    type: "team" as const,
    scopes: importer.scopes as Scope[],
    actor: { type: "member" as const, id: importer.id },
  };
  const request = new Request("http://localhost/v1/imports", {
    method: "POST",
    headers: { "Content-Type": "text/csv" },
    body,
  });
  return startImport(env, database(await shardDb(ws.id)), caller, options.role ?? "user", request);
}

/**
 * A delivery's budget that does not run out: the invocation takes the import to its end,
 * however long that takes on a busy machine, so a test reads the end state when it returns
 * (no message queued for the rest, nothing left to the clock).
 */
export const WHOLE_IMPORT: ImportBudget = { windows: Number.POSITIVE_INFINITY, ms: Number.POSITIVE_INFINITY };

/** The queue's message for an import: "go on with it", naming its workspace (whose shard holds it). */
export const importMessage = (job: { id: string; workspaceId: string }): ImportMessage => ({
  importId: job.id,
  workspaceId: job.workspaceId,
});

/** Delivers the import's queue message to the consumer, as the queue does (again, after a crash). */
export async function deliver(job: { id: string; workspaceId: string }, attempts = 1, budget = WHOLE_IMPORT) {
  const batch = createMessageBatch("imports", [
    { id: crypto.randomUUID(), timestamp: Date.now(), attempts, body: importMessage(job) },
  ]);
  const ctx = createExecutionContext();
  await consumeImports(batch, env, budget);
  return getQueueResult(batch, ctx);
}
