import { ApiError } from "../lib/errors";
import type { ImportWarning } from "./table";

/** What a column feeds. `role` is our addition: the role of the row's new member. */
export const FIELDS = ["email", "phone", "externalId", "name", "description", "labels", "role"] as const;
export type Field = (typeof FIELDS)[number];

/** The CSV header name of each field, as written in the errors CSV and in row errors. */
export const COLUMN_NAME: Record<Field, string> = {
  email: "email",
  phone: "phone",
  externalId: "external_id",
  name: "name",
  description: "description",
  labels: "labels",
  role: "role",
};

export const IDENTIFIERS = ["email", "externalId", "phone"] as const satisfies readonly Field[];

/** "External ID", "external_id", "EXTERNAL-ID" and "ExternalId" all name one column. */
const squash = (name: string) => name.toLowerCase().replace(/[\s_-]+/g, "");
const BY_SQUASHED = new Map<string, Field>(FIELDS.map((f) => [squash(COLUMN_NAME[f]), f]));

export type Columns = { columns: (Field | null)[]; warnings: ImportWarning[] };

/**
 * Maps a header row to fields. Unknown columns are ignored and reported once each; a
 * header naming a field twice, or without any identifier column, is refused (422).
 */
export function mapHeader(header: readonly string[]): Columns {
  const warnings: ImportWarning[] = [];
  const seen = new Set<Field>();
  const columns = header.map((raw, i) => {
    const name = raw.trim();
    const field = BY_SQUASHED.get(squash(name));
    if (!field) {
      warnings.push({
        column: name,
        message: name ? `Unknown column "${name}" is ignored.` : `Column ${i + 1} has no name and is ignored.`,
      });
      return null;
    }
    if (seen.has(field)) {
      throw new ApiError(422, "invalid_csv", `The header names the ${COLUMN_NAME[field]} column twice.`, {
        issues: [{ path: COLUMN_NAME[field], message: "Duplicate column." }],
      });
    }
    seen.add(field);
    return field;
  });
  if (!IDENTIFIERS.some((f) => seen.has(f))) {
    throw new ApiError(422, "invalid_csv", "The header needs an email, phone or external_id column.", {
      issues: [{ path: "header", message: `Columns found: ${header.join(", ") || "none"}.` }],
    });
  }
  return { columns, warnings };
}
