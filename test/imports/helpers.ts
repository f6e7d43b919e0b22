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
