import * as v from "valibot";
import { Id, Timestamp } from "../lib/fields";
import { IMPORT_STATUSES } from "./table";

export const StartImportQuery = v.strictObject({
  role: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(64)), "user"),
});

/**
 * A cell of a JSON member: checked per row like a CSV cell, so one bad member fails only
 * its row. A member too long to be a CSV row at all (64 KiB) is refused with the upload
 * (worker/imports/upload.ts).
 */
const Cell = v.optional(v.nullable(v.union([v.string(), v.number()])));

export const JsonImportMember = v.looseObject({
  email: Cell,
  phone: Cell,
  externalId: Cell,
  name: Cell,
  description: Cell,
  labels: v.optional(v.nullable(v.union([v.string(), v.array(v.string())]))),
  role: Cell,
  /** Custom attributes; keys and limits are checked per row, as the CSV's `attributes.<key>` columns. */
  attributes: v.optional(v.nullable(v.record(v.string(), v.nullable(v.union([v.string(), v.number(), v.boolean()]))))),
});

export const MAX_JSON_MEMBERS = 100_000;

export const JsonImportBody = v.strictObject({
  members: v.pipe(
    v.array(JsonImportMember),
    v.maxLength(MAX_JSON_MEMBERS, `At most ${MAX_JSON_MEMBERS} members; send larger imports as CSV.`),
  ),
});

export const ImportError = v.object({
  /** CSV: the file line the row starts on (the header is line 1). JSON: the member's 1-based index. */
  row: v.number(),
  column: v.string(),
  value: v.string(),
  message: v.string(),
});

export const ImportWarningJson = v.object({ column: v.string(), message: v.string() });

export const ImportProgress = v.object({
  id: Id,
  status: v.picklist(IMPORT_STATUSES),
  /** Data rows in the file: known at once for JSON, once the file has been read for CSV (null until then). */
  total: v.nullable(v.number()),
  processed: v.number(),
  created: v.number(),
  updated: v.number(),
  /** Rows matching a member they would not change: not updates, and no event. */
  unchanged: v.number(),
  failed: v.number(),
  /** Upload size and how far processing got, for a progress bar while `total` is unknown. */
  bytes: v.number(),
  bytesProcessed: v.number(),
});

export const Accepted = v.pick(ImportProgress, ["id", "status"]);

export const ImportJson = v.object({
  ...ImportProgress.entries,
  /** The first 1,000 failed rows' errors; the errors CSV has them all. */
  errors: v.array(ImportError),
  warnings: v.array(ImportWarningJson),
  /** Why a failed import stopped. */
  error: v.nullable(v.string()),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  completedAt: v.nullable(Timestamp),
});

export type JsonImportMember = v.InferOutput<typeof JsonImportMember>;
export type ImportProgress = v.InferOutput<typeof ImportProgress>;
export type ImportJson = v.InferOutput<typeof ImportJson>;
