import * as v from "valibot";

/** Field schemas shared by several features. */
export const Name = v.pipe(v.string(), v.trim(), v.minLength(1, "Name is required."), v.maxLength(200));
export const Email = v.pipe(
  v.string(),
  v.trim(),
  v.toLowerCase(),
  v.maxLength(254),
  v.email("Enter a valid email address."),
);
export const Slug = v.pipe(
  v.string(),
  v.regex(/^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/, "Use lowercase letters, digits and dashes (1-64)."),
);
export const Id = v.pipe(v.string(), v.maxLength(64));
export const Timestamp = v.pipe(v.string(), v.isoTimestamp());
export const Limit = v.optional(
  v.pipe(
    v.string(),
    v.regex(/^\d{1,3}$/, "A whole number from 1 to 100."),
    v.toNumber(),
    v.minValue(1),
    v.maxValue(100),
  ),
  "50",
);
export const Cursor = v.optional(v.pipe(v.string(), v.maxLength(512)));
/** The list convention's query: `limit` 1–100 (default 50) and the previous page's `nextCursor`. */
export const PageQuery = v.strictObject({ limit: Limit, cursor: Cursor });
export const ListOf = <S extends v.GenericSchema>(item: S) =>
  v.object({ data: v.array(item), nextCursor: v.nullable(v.string()) });
