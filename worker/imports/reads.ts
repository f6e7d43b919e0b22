import { and, asc, eq, gt } from "drizzle-orm";
import type { Caller } from "../app";
import type { Db } from "../lib/db";
import { notFound } from "../lib/errors";
import { spreadsheetLine } from "./csv";
import { hideUnreached, mayFollowImport } from "./reach";
import type { ImportJson, ImportProgress } from "./schema";
import { type ImportRow, importErrors, imports } from "./table";

/** Failed rows listed in GET /v1/imports/{id}; the errors CSV has every one. */
const ERRORS_IN_JSON = 1000;
/** Failed rows per D1 read of the errors CSV: 1,000,000 failed rows take 500 reads. */
const ERRORS_PAGE = 2000;

/** The import, for its importer or a caller who follows every import (./reach.ts); 404 for anyone else. */
export async function loadFollowedImport(db: Db, caller: Caller, id: string): Promise<ImportRow> {
  const [row] = await db
    .select()
    .from(imports)
    .where(and(eq(imports.workspaceId, caller.workspaceId), eq(imports.id, id)));
  if (!row || !(await mayFollowImport(db, caller, row.createdBy))) throw notFound("import");
  return row;
}

export const progressOf = (row: ImportRow): ImportProgress => ({
  id: row.id,
  status: row.status,
  total: row.total,
  processed: row.processed,
  created: row.created,
  updated: row.updated,
  unchanged: row.unchanged,
  failed: row.failed,
  bytes: row.bytes,
  bytesProcessed: row.position,
});

/** The import as `reader` may see it: row errors name only members they reach (./reach.ts). */
export async function importJson(db: Db, row: ImportRow, reader: Caller): Promise<ImportJson> {
  const failed = await db
    .select({ row: importErrors.row, errors: importErrors.errors })
    .from(importErrors)
    .where(eq(importErrors.importId, row.id))
    .orderBy(asc(importErrors.row))
    .limit(ERRORS_IN_JSON);
  const errors = failed.flatMap((f) => f.errors.map((e) => ({ row: f.row, ...e })));
  const messages = await hideUnreached(
    db,
    reader,
    errors.map((e) => e.message),
  );
  return {
    ...progressOf(row),
    errors: errors.map((e, i) => ({ ...e, message: messages[i] ?? e.message })),
    warnings: row.warnings,
    error: row.error,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    completedAt: row.completedAt,
  };
}

/**
 * The failed rows as CSV, streamed page by page: the file's own columns (so the fixed
 * file can be imported again; the extra columns are then ignored with a warning), then
 * `row` and `error`, which names only members `reader` reaches.
 */
export function errorsCsv(db: Db, row: ImportRow, reader: Caller): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let after = 0;
  let started = false;
  return new ReadableStream({
    async pull(controller) {
      if (!started) {
        started = true;
        controller.enqueue(encoder.encode(spreadsheetLine([...row.header, "row", "error"])));
        return;
      }
      const page = await db
        .select()
        .from(importErrors)
        .where(and(eq(importErrors.importId, row.id), gt(importErrors.row, after)))
        .orderBy(asc(importErrors.row))
        .limit(ERRORS_PAGE);
      const reasons = await hideUnreached(
        db,
        reader,
        page.map((f) => f.errors.map((e) => `${e.column}: ${e.message}`).join("; ")),
      );
      const text = page
        .map((f, n) => {
          const cells = row.header.map((_, i) => f.cells[i] ?? "");
          return spreadsheetLine([...cells, f.row, reasons[n]]);
        })
        .join("");
      if (text) controller.enqueue(encoder.encode(text));
      after = page[page.length - 1]?.row ?? after;
      if (page.length < ERRORS_PAGE) controller.close();
    },
  });
}
