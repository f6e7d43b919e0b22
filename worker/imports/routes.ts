import { type Caller, router } from "../app";
import { route } from "../auth/route";
import type { Db } from "../lib/db";
import { query } from "../lib/validate";
import { loadImport } from "./chunk";
import { resumeIfStalled } from "./queue";
import { errorsCsv, importJson, loadFollowedImport, progressOf } from "./reads";
import { Accepted, ImportJson, JsonImportBody, StartImportQuery } from "./schema";
import type { ImportRow } from "./table";
import { enqueue, MAX_RUNNING_IMPORTS, startImport } from "./upload";

const tags = ["Imports"];
const NDJSON = "application/x-ndjson";
/** Polls of one progress stream; at one a second at most, far under 1,000 queries. */
const MAX_POLLS = 900;
const unfollowed = { 404: { description: "No such import, or one you neither started nor may follow" } } as const;
/** Who reads an import (./reach.ts), as the OpenAPI descriptions state it. */
const FOLLOWERS =
  "Only its importer and holders of `members:admin` whose role has no condition may read an import (404 for " +
  "others); its row errors name only members the reader reaches now (others read `outside your reach`).";

export const imports = router()
  .post(
    "/",
    route({
      summary:
        "Import members from a text/csv body (columns email, phone, external_id, name, description, labels, role) " +
        `or {members: [...]}; with Accept: ${NDJSON} the response streams progress lines and ends with the summary`,
      description:
        "An import acts with its importer's scopes as they were at upload, never more: each chunk checks the " +
        "importer again, and one archived, no longer holding `members:write`, or no longer allowed to assign the " +
        "import's role (the role rule) makes the import fail with that reason in `error`; rows already imported stay.",
      tags,
      auth: "members:write",
      notIdempotent: true,
      body: JsonImportBody,
      responses: {
        202: { description: "Accepted: {id, status}, or the NDJSON progress stream", schema: Accepted },
        413: { description: "The upload is over 100 MiB (JSON: 4 MiB)" },
        429: {
          description: `too_many_imports: ${MAX_RUNNING_IMPORTS} imports of the workspace are running; nothing was kept. Retry-After says when to try again`,
        },
        415: { description: "Neither text/csv nor JSON" },
        422: {
          description:
            "Unknown role, an unreadable header, a header of more than 1,000 columns or without an identifier column, " +
            "or a JSON member longer than a CSV row may be (64 KiB)",
        },
      },
    }),
    query(StartImportQuery),
    async (c) => {
      const { role } = c.req.valid("query");
      const row = await startImport(c.env, c.var.db, c.var.caller, role, c.req.raw);
      await enqueue(c.env, c.var.db, row);
      if (!(c.req.header("Accept") ?? "").includes(NDJSON)) return c.json({ id: row.id, status: row.status }, 202);
      return new Response(progressLines(c.var.db, row, c.var.caller), {
        status: 202,
        headers: { "Content-Type": NDJSON },
      });
    },
  )
  .get(
    "/:id",
    route({
      summary: "An import's progress, counts and failed rows",
      description: FOLLOWERS,
      tags,
      auth: "members:read",
      responses: {
        200: { description: "The import", schema: ImportJson },
        ...unfollowed,
      },
    }),
    async (c) => {
      const row = await loadFollowedImport(c.var.db, c.var.caller, c.req.param("id"));
      c.executionCtx.waitUntil(resumeIfStalled(c.env, row));
      return c.json(await importJson(c.var.db, row, c.var.caller));
    },
  )
  .get(
    "/:id/errors.csv",
    route({
      summary: "The failed rows as CSV: the file's columns, then row and error",
      description:
        "A cell that a spreadsheet would run as a formula (one starting with `=`, `+`, `-`, `@`, a tab or a " +
        "carriage return) is sent with a leading `'`, as OWASP's CSV injection guidance advises, so ordinary " +
        "values such as `+14155550100` read `'+14155550100`. Importing the fixed file takes that `'` off again. " +
        FOLLOWERS,
      tags,
      auth: "members:read",
      responses: {
        200: { description: "text/csv", contentType: "text/csv" },
        ...unfollowed,
      },
    }),
    async (c) => {
      const row = await loadFollowedImport(c.var.db, c.var.caller, c.req.param("id"));
      return new Response(errorsCsv(c.var.db, row, c.var.caller), {
        headers: {
          "Content-Type": "text/csv; charset=utf-8",
          "Content-Disposition": `attachment; filename="${row.id}-errors.csv"`,
        },
      });
    },
  );

/**
 * The NDJSON progress of an import: a line when it starts, one per committed chunk
 * (consecutive chunks seen in one poll share a line), and the summary (the same body as
 * GET /v1/imports/{id}) when it ends. It polls D1, which the chunks commit to.
 */
function progressLines(db: Db, start: ImportRow, importer: Caller): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const line = (value: unknown) => encoder.encode(`${JSON.stringify(value)}\n`);
  let seen = -1;
  let polls = 0;
  let wait = 100;
  return new ReadableStream({
    async pull(controller) {
      for (;;) {
        const row = polls === 0 ? start : await loadImport(db, start.id);
        polls++;
        if (!row) return controller.close();
        if (row.status !== "running") {
          controller.enqueue(line({ type: "summary", ...(await importJson(db, row, importer)) }));
          return controller.close();
        }
        if (row.chunks !== seen || polls >= MAX_POLLS) {
          seen = row.chunks;
          wait = 100;
          controller.enqueue(line({ type: "progress", ...progressOf(row) }));
          // The caller can follow on with GET /v1/imports/{id}.
          if (polls >= MAX_POLLS) controller.close();
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, wait));
        wait = Math.min(wait * 2, 1000);
      }
    },
  });
}
