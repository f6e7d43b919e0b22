import { type SQL, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/sqlite-core";
import { decodeCursor, encodeCursor } from "../lib/cursor";
import { allNumbered, type Db, numberedParams } from "../lib/db";
import { mergedUnion } from "../lib/union";
import type { ReachFilter } from "../reach/reach";
import type { Bind } from "../reach/to-sql";
import { joinMember, memberFilters, type Query, type Row } from "./filters";
import { memberJson } from "./json";
import { members, membersByTerm, workspaceCallingCodes } from "./table";

/** Sorts after every character, so `prefix + LAST` bounds the range of keys starting with `prefix`. */
const LAST = "\u{10FFFF}";

/**
 * What a search matches: digits of a phone-like query against phones, otherwise the
 * ASCII-lowercased text against name and email terms (SQLite's lower() is ASCII-only).
 */
export function searchPrefix(q: string): string {
  if (isPhoneLike(q)) return q.replace(/\D/g, "");
  return q.replace(/[A-Z]/g, (ch) => ch.toLowerCase());
}

const isPhoneLike = (q: string) => /^[+\d\s().-]+$/.test(q) && /\d/.test(q);

type Page = { data: Row[]; nextCursor: string | null };

/**
 * A search: by term (name, last name, email), or for a phone-like q by phone first
 * (E.164 digits, or the national number after any calling code the workspace's phones
 * have), then by the terms that start with those digits (an email such as
 * "2024promo@…"), minus the members already found by phone.
 */
export async function searchMembers(
  db: Db,
  workspaceId: string,
  query: Query,
  q: string,
  within?: ReachFilter,
): Promise<Page> {
  const prefix = searchPrefix(q);
  if (!isPhoneLike(q)) {
    const after = query.cursor ? decodeCursor(query.cursor, 2) : undefined;
    const rows = await byTerm(db, workspaceId, query, prefix, after, within);
    return pageOf(rows, query.limit, (row) => [row.term, row.id]);
  }
  const [phase, key = "", id = ""] = query.cursor ? decodeCursor(query.cursor, 3) : ["phone"];
  const phones = phase === "phone" ? await byPhone(db, workspaceId, query, prefix, key, within) : [];
  const tagged = phones.map((row) => ({ ...row, cursor: ["phone", row.phone, ""] }));
  if (phones.length > query.limit) return pageOf(tagged, query.limit, (row) => row.cursor);
  const termAfter = phase === "term" ? [key, id] : undefined;
  const terms = await byTerm(
    db,
    workspaceId,
    { ...query, limit: query.limit - phones.length },
    prefix,
    termAfter,
    within,
    (param) => notMatchedByPhone(param, workspaceId, prefix),
  );
  return pageOf(
    [...tagged, ...terms.map((row) => ({ ...row, cursor: ["term", row.term, row.id] }))],
    query.limit,
    (row) => row.cursor,
  );
}

function pageOf<T extends Row>(rows: T[], limit: number, keyOf: (row: T) => string[]): Page {
  const data = rows.slice(0, limit);
  const last = data.at(-1);
  return { data, nextCursor: rows.length > limit && last ? encodeCursor(keyOf(last)) : null };
}

/**
 * Pages by (term, member id) through members_by_term, listing each member once, at its
 * smallest matching term: the one matching term that shares fewer than L characters (L,
 * the prefix's length) with the member's next smaller term (`lcp`, kept by the triggers),
 * since any later matching term shares the whole prefix with an earlier one. So a page
 * merges one index range per `lcp` below L (SQLite merges ordered UNION ALL terms lazily)
 * and never reads a member's other terms; checking each term against the member's row
 * instead, a search for "ann" read every "ann.…@" email of the Anns it had listed by name.
 * A page reads its terms, one row per range, and one member a term: 2 (limit + 1) + L.
 *
 * The filters (labels, type, role, role condition) are written once, over the union:
 * SQLite flattens it into the outer query and pushes them into each range, which still
 * skips what does not match as it walks. Written into each range, they made a statement
 * over D1's 100,000 bytes (https://developers.cloudflare.com/d1/platform/limits/) for a
 * long q: 100 ranges, each with 10 labels and a condition's SQL.
 */
async function byTerm(
  db: Db,
  workspaceId: string,
  query: Query,
  prefix: string,
  after: string[] | undefined,
  within?: ReachFilter,
  also?: (param: Bind) => SQL,
) {
  // (prefix, "") sorts before every matching (term, member id); a cursor from before the
  // prefix (not one this search gave out) cannot widen the match.
  const from = after && (after[0] ?? "") >= prefix ? [after[0] ?? "", after[1] ?? ""] : [prefix, ""];
  // Every range repeats the same values: numbered, they are bound once.
  const { values, param } = numberedParams();
  const t = membersByTerm;
  const bounds = [
    sql`${t.workspaceId} = ${param(workspaceId)}`,
    sql`${t.status} = ${param(query.status)}`,
    sql`(${t.term}, ${t.memberId}) > (${param(from[0])}, ${param(from[1])})`,
    sql`${t.term} < ${param(`${prefix}${LAST}`)}`,
  ];
  // One range per lcp below the prefix's length in characters, as SQLite counts them.
  const ranges = [...prefix].map(
    (_, lcp) =>
      sql`select ${t.term}, ${t.memberId} from ${t}
        where ${sql.join([...bounds, sql`${t.lcp} = ${sql.raw(String(lcp))}`], sql` and `)}`,
  );
  // The union, named as members_by_term rows, so the member is joined to it as to an index row.
  const hits = alias(membersByTerm, "hits");
  const filters = [...memberFilters(query, query.label ?? [], param, within), ...(also ? [also(param)] : [])];
  const where = filters.length ? sql` where ${sql.join(filters, sql` and `)}` : sql``;
  return allNumbered<Row & { term: string }>(
    db,
    sql`select ${hits.term} as "term", ${hits.memberId} as "id", ${memberJson} as "json"
      from (${mergedUnion(ranges, sql`1, 2`)}) as ${sql.identifier("hits")}${joinMember(hits)}${where}
      order by 1, 2 limit ${param(query.limit + 1)}`,
    values,
  );
}

/**
 * Members whose phone starts with `digits` (E.164 without its "+"), or whose national
 * number does, after a calling code the workspace's phones have: ranges of
 * `members_by_phone`, merged by phone (unique in a workspace), one row read a member.
 */
async function byPhone(db: Db, workspaceId: string, query: Query, digits: string, after: string, within?: ReachFilter) {
  const codes = await db
    .select({ code: workspaceCallingCodes.code })
    .from(workspaceCallingCodes)
    .where(sql`${workspaceCallingCodes.workspaceId} = ${workspaceId}`);
  const { values, param } = numberedParams();
  const international = `+${digits}`;
  const startsWith = (p: string) => sql`${members.phone} >= ${param(p)} and ${members.phone} < ${param(`${p}${LAST}`)}`;
  // One lower bound (SQLite bounds an index range by one of several): the prefix, or the cursor past it.
  const from = (p: string) =>
    after >= p ? sql`${members.phone} > ${param(after)}` : sql`${members.phone} >= ${param(p)}`;
  const range = (p: string, except?: string) =>
    sql`select ${members.phone} as "phone", ${members.id} as "id", ${memberJson} as "json" from ${members}
      where ${sql.join(
        [
          sql`${members.workspaceId} = ${param(workspaceId)}`,
          from(p),
          sql`${members.phone} < ${param(`${p}${LAST}`)}`,
          sql`${members.status} = ${param(query.status)}`,
          // A national range inside the international one would list its members twice.
          ...(except ? [sql`not (${startsWith(except)})`] : []),
          ...memberFilters(query, query.label ?? [], param, within),
        ],
        sql` and `,
      )}`;
  const ranges = [range(international), ...codes.map(({ code }) => range(`+${code}${digits}`, international))];
  return allNumbered<Row & { phone: string }>(
    db,
    sql`${mergedUnion(ranges, sql`1`)} order by 1 limit ${param(query.limit + 1)}`,
    values,
  );
}

/** SQL over the joined member: its phone matches none of `byPhone`'s ranges (it was listed there). */
function notMatchedByPhone(param: Bind, workspaceId: string, digits: string): SQL {
  const c = workspaceCallingCodes;
  const [from, to] = [param(digits), param(`${digits}${LAST}`)];
  return sql`(${members.phone} is null or (not (${members.phone} >= '+' || ${from} and ${members.phone} < '+' || ${to})
    and not exists (select 1 from ${c} where ${c.workspaceId} = ${param(workspaceId)}
      and ${members.phone} >= '+' || ${c.code} || ${from} and ${members.phone} < '+' || ${c.code} || ${to})))`;
}
