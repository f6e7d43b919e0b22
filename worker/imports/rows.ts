import * as v from "valibot";
import { slugify } from "../labels/ensure";
import { Email, NON_ASCII_LOCAL_PART } from "../lib/fields";
import { type Attributes, attributeFromCell, attributesIssue } from "../members/attributes";
import { normalizePhone } from "../members/phone";
import { ATTRIBUTE_PREFIX, COLUMN_NAME, type Column, type Field, isAttributeColumn } from "./columns";
import { withoutFormulaGuard } from "./csv";
import type { RowError } from "./table";

const MAX_LABELS = 50;
const MAX = { externalId: 200, name: 200, description: 2000, role: 64 } as const;

/** A row's values as the member fields they set; absent when the cell is empty. */
export type RowValues = {
  email?: string;
  phone?: string;
  phoneNational?: string;
  externalId?: string;
  name?: string;
  description?: string;
  labels: string[];
  role?: string;
  /** The row's non-empty `attributes.<key>` cells (worker/members/attributes.ts `attributeFromCell`). */
  attributes: Attributes;
};

export type ParsedRow = { row: number; cells: string[]; values: RowValues; errors: RowError[] };

/**
 * Reads and checks one record's cells. Every problem is collected (row, column, value,
 * reason) so the errors CSV tells the whole story of the row at once.
 */
export function parseRow(row: number, cells: readonly string[], columns: readonly (Column | null)[]): ParsedRow {
  const raw: Partial<Record<Field, string>> = {};
  const attributes: Attributes = {};
  columns.forEach((column, i) => {
    // A fixed errors CSV (or an export) comes back with its formula guards: '+14155550100 is +14155550100.
    const text = cells[i];
    const cell = text && withoutFormulaGuard(text).trim();
    if (!column || !cell) return;
    if (isAttributeColumn(column)) attributes[column.slice(ATTRIBUTE_PREFIX.length)] = attributeFromCell(cell);
    else raw[column] = cell;
  });
  const errors: RowError[] = [];
  const fail = (field: Field, message: string) =>
    errors.push({ column: COLUMN_NAME[field], value: raw[field] ?? "", message });
  const values: RowValues = { labels: [], attributes };

  if (raw.email !== undefined) {
    const email = v.safeParse(Email, raw.email);
    if (email.success) values.email = email.output;
    else
      fail(
        "email",
        email.issues[0].message === NON_ASCII_LOCAL_PART ? NON_ASCII_LOCAL_PART : "Not a valid email address.",
      );
  }
  if (raw.phone !== undefined) {
    const phone = normalizePhone(raw.phone);
    if (phone) {
      values.phone = phone.e164;
      values.phoneNational = phone.national;
    } else {
      fail("phone", "Not a valid phone number; use international format, e.g. +14155550100.");
    }
  }
  for (const field of ["externalId", "name", "description", "role"] as const) {
    const value = raw[field];
    if (value === undefined) continue;
    if (value.length > MAX[field]) fail(field, `Longer than ${MAX[field]} characters.`);
    else values[field] = value;
  }
  if (raw.labels !== undefined) {
    // "VIP, New customer" and "vip;new-customer" both give [new-customer, vip].
    const names = raw.labels
      .split(/[,;]/)
      .map((s) => s.trim())
      .filter(Boolean);
    const slugs = new Set<string>();
    for (const name of names) {
      const slug = slugify(name);
      if (slug) slugs.add(slug);
      else fail("labels", `"${name}" cannot be a label: use letters or digits.`);
    }
    if (slugs.size > MAX_LABELS) fail("labels", `More than ${MAX_LABELS} labels.`);
    values.labels = [...slugs].sort();
  }
  // The key count is held by the header (worker/imports/columns.ts); the size is the row's.
  const attributesRefused = attributesIssue(attributes);
  if (attributesRefused) errors.push({ column: "attributes", value: "", message: attributesRefused });
  if (raw.email === undefined && raw.phone === undefined && raw.externalId === undefined) {
    errors.push({ column: COLUMN_NAME.email, value: "", message: "A row needs an email, a phone or an external_id." });
  }
  return { row, cells: [...cells], values, errors };
}
