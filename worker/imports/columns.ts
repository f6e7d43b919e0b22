import { ApiError } from "../lib/errors";
import { ATTRIBUTE_KEY, MAX_ATTRIBUTES } from "../members/attributes";
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

/** A column `attributes.<key>`: one custom attribute of the row's member (worker/members/attributes.ts). */
export type AttributeColumn = `attributes.${string}`;
/** What a header cell names: a field, or an attribute. */
export type Column = Field | AttributeColumn;
export const ATTRIBUTE_PREFIX = "attributes.";
export const isAttributeColumn = (column: Column): column is AttributeColumn => column.startsWith(ATTRIBUTE_PREFIX);

export const IDENTIFIERS = ["email", "externalId", "phone"] as const satisfies readonly Field[];

/** "External ID", "external_id", "EXTERNAL-ID" and "ExternalId" all name one column. */
const squash = (name: string) => name.toLowerCase().replace(/[\s_-]+/g, "");
const BY_SQUASHED = new Map<string, Field>(FIELDS.map((f) => [squash(COLUMN_NAME[f]), f]));

/**
 * The widest header taken. The parser's record limit (MAX_RECORD_BYTES) counts the
 * cells' characters, not the commas between them, so without this a header of commas
 * alone could name any number of columns, each stored with the import.
 */
const MAX_COLUMNS = 1000;
/**
 * Warnings kept with an import, and the most of a column's name one repeats. The
 * warnings are one D1 value, which D1 caps at 2 MB; JSON field names have no length
 * limit of their own.
 */
const MAX_WARNINGS = 100;
const MAX_NAME = 100;

export type Columns = { columns: (Column | null)[]; warnings: ImportWarning[] };

/** The warning for a column (CSV) or field (JSON) that names nothing we import. */
export function unknownColumn(kind: "column" | "field", name: string): ImportWarning {
  const shown = name.length > MAX_NAME ? `${name.slice(0, MAX_NAME)}…` : name;
  return { column: shown, message: `Unknown ${kind} "${shown}" is ignored.` };
}

/** The first MAX_WARNINGS warnings, and one more counting the rest. */
export function keptWarnings(warnings: ImportWarning[]): ImportWarning[] {
  if (warnings.length <= MAX_WARNINGS) return warnings;
  const rest = warnings.length - MAX_WARNINGS;
  return [...warnings.slice(0, MAX_WARNINGS), { column: "", message: `And ${rest} more warnings.` }];
}

/**
 * Maps a header row to fields and attributes. Unknown columns are ignored and reported
 * once each; a header wider than MAX_COLUMNS, naming a field or attribute twice, naming
 * an attribute key the API refuses or more than MAX_ATTRIBUTES of them, or without any
 * identifier column is refused (422).
 */
export function mapHeader(header: readonly string[]): Columns {
  if (header.length > MAX_COLUMNS) {
    throw new ApiError(
      422,
      "invalid_csv",
      `The header has ${header.length} columns; at most ${MAX_COLUMNS} are read.`,
      {
        issues: [{ path: "header", message: `More than ${MAX_COLUMNS} columns.` }],
      },
    );
  }
  const warnings: ImportWarning[] = [];
  const seen = new Set<Column>();
  const columns = header.map((raw, i): Column | null => {
    const name = raw.trim();
    if (name.startsWith(ATTRIBUTE_PREFIX)) return attributeColumn(name, seen);
    const field = BY_SQUASHED.get(squash(name));
    if (!field) {
      warnings.push(
        name ? unknownColumn("column", name) : { column: "", message: `Column ${i + 1} has no name and is ignored.` },
      );
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
  const attributes = columns.filter((c) => c !== null && isAttributeColumn(c)).length;
  if (attributes > MAX_ATTRIBUTES) {
    throw new ApiError(
      422,
      "invalid_csv",
      `The header names ${attributes} attributes; a member holds at most ${MAX_ATTRIBUTES}.`,
      {
        issues: [{ path: "header", message: `More than ${MAX_ATTRIBUTES} attribute columns.` }],
      },
    );
  }
  return { columns, warnings };
}

/** `attributes.<key>`, its key checked as the API checks it. */
function attributeColumn(name: string, seen: Set<Column>): AttributeColumn {
  const key = name.slice(ATTRIBUTE_PREFIX.length);
  if (!ATTRIBUTE_KEY.test(key)) {
    throw new ApiError(422, "invalid_csv", `The column "${name.slice(0, 100)}" names no valid attribute key.`, {
      issues: [
        {
          path: name.slice(0, 100),
          message: "Attribute keys are 1-40 lowercase letters, digits and underscores, starting with a letter.",
        },
      ],
    });
  }
  const column: AttributeColumn = `attributes.${key}`;
  if (seen.has(column)) {
    throw new ApiError(422, "invalid_csv", `The header names the ${column} column twice.`, {
      issues: [{ path: column, message: "Duplicate column." }],
    });
  }
  seen.add(column);
  return column;
}
