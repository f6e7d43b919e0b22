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
/** A page's size: its range and default. */
export const PAGE_SIZE = { minimum: 1, maximum: 100, default: 50 } as const;
/**
 * `limit`, the page size: digits in the query string, read as a number. The OpenAPI
 * document gives it as the integer it stands for (worker/openapi/schemas.ts).
 */
export const Limit = v.optional(
  v.pipe(
    v.string(),
    v.regex(/^\d{1,3}$/, `A whole number from ${PAGE_SIZE.minimum} to ${PAGE_SIZE.maximum}.`),
    v.toNumber(),
    v.minValue(PAGE_SIZE.minimum),
    v.maxValue(PAGE_SIZE.maximum),
  ),
  String(PAGE_SIZE.default),
);
export const Cursor = v.optional(v.pipe(v.string(), v.maxLength(512)));
/** The list convention's query: `limit` 1–100 (default 50) and the previous page's `nextCursor`. */
export const PageQuery = v.strictObject({ limit: Limit, cursor: Cursor });

const pageOf = <S extends v.GenericSchema>(item: S) =>
  v.object({ data: v.array(item), nextCursor: v.nullable(v.string()) });
const pages = new WeakMap<v.GenericSchema, v.GenericSchema>();

/**
 * A page of the list convention: `{data, nextCursor}`. One schema per item schema, so
 * the OpenAPI document knows every page of members as the same named shape (MemberPage).
 */
export function ListOf<S extends v.GenericSchema>(item: S): ReturnType<typeof pageOf<S>> {
  let page = pages.get(item) as ReturnType<typeof pageOf<S>> | undefined;
  if (!page) {
    page = pageOf(item);
    pages.set(item, page);
  }
  return page;
}
