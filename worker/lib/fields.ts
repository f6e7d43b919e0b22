import * as v from "valibot";

/** Field schemas shared by several features. */
export const Name = v.pipe(v.string(), v.trim(), v.minLength(1, "Name is required."), v.maxLength(200));
/** Why an address with characters beyond ASCII before its `@` is refused (see `Email`). */
export const NON_ASCII_LOCAL_PART =
  "Use an address with only ASCII letters, digits and symbols before the @: many mail systems cannot deliver to others.";

// biome-ignore lint/suspicious/noControlCharactersInRegex: the ASCII range itself
const ASCII = /^[\x00-\x7f]*$/;
const nonAsciiLocalPart = (address: string) =>
  address.includes("@") && !ASCII.test(address.slice(0, address.lastIndexOf("@")));

/**
 * An internationalized domain (`ünal.test`) as the ASCII name DNS and mail servers use
 * (`xn--nal-hoa.test`), by the URL Standard's domain-to-ASCII (UTS #46): one stored form
 * per address, so uniqueness holds whichever form was typed. Anything else is left as it
 * is for `rfcEmail` to judge.
 */
function asciiDomain(address: string) {
  const at = address.lastIndexOf("@");
  const domain = address.slice(at + 1);
  // Letters, digits, dots and dashes only: a URL would read past `/`, `?` or `%` and keep part of it.
  if (at < 0 || ASCII.test(domain) || !/^[\p{L}\p{M}\p{N}.-]+$/u.test(domain)) return address;
  try {
    return `${address.slice(0, at)}@${new URL(`http://${domain}`).hostname}`;
  } catch {
    return address;
  }
}

/**
 * What mail systems accept (RFC 5321/5322 without comments or quoted local parts:
 * `o'brien@example.ie`, `zoe@xn--nal-hoa.test`), lowercased; an internationalized domain
 * is kept in its ASCII form (`asciiDomain`). A local part beyond ASCII (`zoë@…`, RFC
 * 6531) is refused with its own message: it needs SMTPUTF8 from every relay on the way,
 * which the mail provider does not promise, so the invitation or sign-in link would be lost.
 */
export const Email = v.pipe(
  v.string(),
  v.trim(),
  v.toLowerCase(),
  // What OpenAPI tells a client: its converter reads a pipe's input up to the first transform.
  v.metadata({
    format: "email",
    maxLength: 254,
    description:
      "An address mail systems accept (RFC 5321), lowercased. An internationalized domain is kept in its ASCII form (`zoe@ünal.test` is `zoe@xn--nal-goa.test`); a local part beyond ASCII is refused.",
  }),
  v.transform(asciiDomain),
  v.maxLength(254, "An email address has at most 254 characters."),
  v.rfcEmail(({ input }) => (nonAsciiLocalPart(input) ? NON_ASCII_LOCAL_PART : "Enter a valid email address.")),
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
