import * as v from "valibot";
import { COLUMN_NAME, FIELDS } from "../imports/columns";
import { spreadsheetLine } from "../imports/csv";
import type { Db } from "../lib/db";
import { ApiError } from "../lib/errors";
import type { ReachFilter } from "../reach/reach";
import { attributeCell } from "./attributes";
import type { Query } from "./filters";
import { listMembers } from "./reads";
import { ListMembersQuery, type Member } from "./schema";

export const EXPORT_FORMATS = ["csv", "ndjson"] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

const { limit: _limit, cursor: _cursor, ...filters } = ListMembersQuery.entries;

/** The list's filters (without paging), and the format. */
export const ExportMembersQuery = v.strictObject({
  ...filters,
  format: v.optional(v.picklist(EXPORT_FORMATS), "csv"),
});

/**
 * Members read a D1 query: the list's own keyset pages (its filters, the caller's reach),
 * larger than the API's. Memory holds one page: about 1,000 members of a few hundred bytes.
 */
export const EXPORT_PAGE = 1000;

/** The widest CSV the import takes (worker/imports/columns.ts): the export's must re-import. */
const MAX_COLUMNS = 1000;

type Filters = Omit<Query, "limit" | "cursor">;

/** Every matching member, page by page (the list's keyset pages: never all in memory). */
async function* matching(db: Db, workspaceId: string, query: Filters, within?: ReachFilter) {
  let cursor: string | undefined;
  for (;;) {
    const page = await listMembers(db, workspaceId, { ...query, limit: EXPORT_PAGE, cursor }, within);
    yield page.data;
    if (page.nextCursor === null) return;
    cursor = page.nextCursor;
  }
}

/** The attribute keys the matching members hold, sorted: the CSV's columns after the import's. */
async function attributeKeys(db: Db, workspaceId: string, query: Filters, within?: ReachFilter) {
  const keys = new Set<string>();
  for await (const page of matching(db, workspaceId, query, within)) {
    for (const member of page) for (const key of Object.keys(member.attributes)) keys.add(key);
    if (FIELDS.length + keys.size > MAX_COLUMNS) {
      throw new ApiError(
        422,
        "validation_failed",
        `These members hold more than ${MAX_COLUMNS - FIELDS.length} attribute keys: too many columns for a CSV the import takes. Export as ndjson, or narrow the filters.`,
        { issues: [{ path: "format", message: "Too many attribute columns for CSV." }] },
      );
    }
  }
  return [...keys].sort();
}

/** A member's cells, in the import's columns (FIELDS) and then `attributes.<key>`. */
function csvCells(member: Member, keys: readonly string[]) {
  const fields: Record<(typeof FIELDS)[number], string | null> = {
    email: member.email,
    phone: member.phone,
    externalId: member.externalId,
    name: member.name,
    description: member.description,
    labels: member.labels.join(","),
    role: member.role,
  };
  const attributes = keys.map((key) => {
    const value = member.attributes[key];
    return value === undefined ? "" : attributeCell(value);
  });
  return [...FIELDS.map((field) => fields[field] ?? ""), ...attributes];
}

/**
 * The export as a stream: NDJSON (one Member JSON a line) or CSV (the import's columns,
 * then one `attributes.<key>` column per key the members hold). The CSV needs its columns
 * before its rows, so it reads the members twice: a first pass for the keys (answered
 * before the response starts, so too many of them is a 422), then the rows. Each pull
 * reads one page, so a slow reader holds the reads back.
 */
export async function exportMembers(
  db: Db,
  workspaceId: string,
  format: ExportFormat,
  query: Filters,
  within?: ReachFilter,
): Promise<ReadableStream<Uint8Array>> {
  const keys = format === "csv" ? await attributeKeys(db, workspaceId, query, within) : [];
  const encoder = new TextEncoder();
  const pages = matching(db, workspaceId, query, within);
  let header = format === "csv";
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (header) {
          header = false;
          const names = [...FIELDS.map((field) => COLUMN_NAME[field]), ...keys.map((key) => `attributes.${key}`)];
          controller.enqueue(encoder.encode(spreadsheetLine(names)));
          return;
        }
        const next = await pages.next();
        if (next.done) return controller.close();
        const text =
          format === "csv"
            ? next.value.map((member) => spreadsheetLine(csvCells(member, keys))).join("")
            : next.value.map((member) => `${JSON.stringify(member)}\n`).join("");
        if (text) controller.enqueue(encoder.encode(text));
      },
      async cancel() {
        await pages.return(undefined);
      },
    },
    { highWaterMark: 0 },
  );
}
