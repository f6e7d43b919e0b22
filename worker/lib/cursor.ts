import * as v from "valibot";
import { fromBase64Url, toBase64Url } from "./crypto";
import { ApiError } from "./errors";

/** Keyset cursors: the sort key of the last item of a page, opaque to clients. */
export function encodeCursor(key: readonly string[]): string {
  return toBase64Url(new TextEncoder().encode(JSON.stringify(key)));
}

const Key = v.array(v.pipe(v.string(), v.maxLength(300)));

export function decodeCursor(cursor: string, length: number): string[] {
  try {
    const text = new TextDecoder().decode(fromBase64Url(cursor));
    const key = v.parse(Key, JSON.parse(text));
    if (key.length === length) return key;
  } catch {
    // falls through to the 400 below
  }
  throw new ApiError(400, "invalid_cursor", "The cursor is not one this list gave out.", {
    issues: [{ path: "cursor", message: "Pass nextCursor from the previous page unchanged." }],
  });
}

/** One more row than the page is fetched to know whether another page follows. */
export function page<T>(rows: T[], limit: number, keyOf: (row: T) => string[]) {
  const data = rows.slice(0, limit);
  const last = data[data.length - 1];
  return { data, nextCursor: rows.length > limit && last ? encodeCursor(keyOf(last)) : null };
}
