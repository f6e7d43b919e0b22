/**
 * D1 refuses a string or BLOB over 2,000,000 bytes, a bound value included
 * (https://developers.cloudflare.com/d1/platform/limits/; the local D1 does not check):
 * set-based writes that take their rows as one JSON value take them in parts of this size.
 */
export const JSON_PART_BYTES = 1_000_000;

const encoder = new TextEncoder();
/** JSON.stringify escapes control characters: printable ASCII is a byte a character. */
const utf8Length = (json: string) => (/[^ -~]/.test(json) ? encoder.encode(json).length : json.length);

/**
 * `items` as JSON arrays of at most `maxBytes` of UTF-8 each, in order; none when there
 * are no items. An item longer than that alone gets a part of its own.
 */
export function jsonArrayParts(items: readonly unknown[], maxBytes = JSON_PART_BYTES): string[] {
  const parts: string[] = [];
  let part: string[] = [];
  let bytes = 2;
  for (const item of items) {
    const json = JSON.stringify(item);
    const size = utf8Length(json) + 1;
    if (part.length > 0 && bytes + size > maxBytes) {
      parts.push(`[${part.join(",")}]`);
      part = [];
      bytes = 2;
    }
    part.push(json);
    bytes += size;
  }
  if (part.length > 0) parts.push(`[${part.join(",")}]`);
  return parts;
}
