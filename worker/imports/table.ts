import { sql } from "drizzle-orm";
import { check, index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";
import type { Scope } from "../roles/scopes";
import type { Column } from "./columns";

export const IMPORT_STATUSES = ["running", "completed", "failed"] as const;
export type ImportStatus = (typeof IMPORT_STATUSES)[number];

export type ImportWarning = { column: string; message: string };
export type RowError = { column: string; value: string; message: string };

/**
 * One import: the upload lives in R2 (`objectKey`); `position` is the byte offset of
 * the next unread record and `line` the number of file lines before it. Both move only
 * in the batch that commits a chunk's members, so a crash resumes exactly there. A
 * chunk is one transaction of bounded work; the file is read a window of several chunks
 * at a time (worker/imports/chunk.ts).
 */
export const imports = sqliteTable(
  "imports",
  {
    id: text().primaryKey(),
    workspaceId: text().notNull(),
    status: text().$type<ImportStatus>().notNull(),
    /** "csv" rows are numbered by file line (header = 1); "json" rows by their 1-based index. */
    source: text().$type<"csv" | "json">().notNull(),
    /** The role new members get. */
    role: text().notNull(),
    createdBy: text().notNull(),
    /** The uploader's scopes: a `role` column may not assign more than they hold. */
    callerScopes: text({ mode: "json" }).$type<Scope[]>().notNull(),
    objectKey: text().notNull(),
    bytes: integer().notNull(),
    /** The field each CSV column feeds, or null for an ignored column. */
    columns: text({ mode: "json" }).$type<(Column | null)[]>().notNull(),
    header: text({ mode: "json" }).$type<string[]>().notNull(),
    warnings: text({ mode: "json" }).$type<ImportWarning[]>().notNull(),
    /** Data rows in the file; known once the whole file has been read (JSON: at once). */
    total: integer(),
    processed: integer().notNull().default(0),
    created: integer().notNull().default(0),
    updated: integer().notNull().default(0),
    unchanged: integer().notNull().default(0),
    failed: integer().notNull().default(0),
    position: integer().notNull(),
    line: integer().notNull(),
    chunks: integer().notNull().default(0),
    /**
     * Rows per chunk, sized from D1's time for the chunks before (worker/lib/bounded.ts):
     * stored with each chunk, so the next invocation starts from it.
     */
    chunkRows: integer(),
    /** Why a failed import stopped. */
    error: text(),
    createdAt: text().notNull(),
    updatedAt: text().notNull(),
    completedAt: text(),
  },
  (t) => [index("imports_by_workspace").on(t.workspaceId, t.id)],
);

/**
 * One row per committed chunk. Inserting it is the first statement of the chunk's
 * batch: a second attempt at the same chunk fails on the primary key and rolls back
 * whole, so no row is applied twice. `stale` counts members that changed since the
 * chunk read them; the CHECK makes such a batch fail, and the chunk is read again.
 */
export const importChunks = sqliteTable(
  "import_chunks",
  {
    importId: text().notNull(),
    chunk: integer().notNull(),
    startByte: integer().notNull(),
    endByte: integer().notNull(),
    rows: integer().notNull(),
    stale: integer().notNull(),
    at: text().notNull(),
  },
  (t) => [primaryKey({ columns: [t.importId, t.chunk] }), check("import_chunks_fresh", sql`stale = 0`)],
);

/** The failed rows: what was wrong (per column) and the row's cells, for the errors CSV. */
export const importErrors = sqliteTable(
  "import_errors",
  {
    importId: text().notNull(),
    row: integer().notNull(),
    errors: text({ mode: "json" }).$type<RowError[]>().notNull(),
    cells: text({ mode: "json" }).$type<string[]>().notNull(),
  },
  (t) => [primaryKey({ columns: [t.importId, t.row] })],
);

export type ImportRow = typeof imports.$inferSelect;
