import { and, desc, eq, exists, lt, type SQL, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/sqlite-core";
import type * as v from "valibot";
import type { Visible } from "../access/visibility";
import { decodeCursor, page } from "../lib/cursor";
import { allNumbered, type Db, numberedParams } from "../lib/db";
import { notFound } from "../lib/errors";
import { memberJson, parseMember } from "./json";
import type { ListMembersQuery } from "./schema";
import { memberLabels, memberSearch, members } from "./table";

type Query = v.InferOutput<typeof ListMembersQuery>;

export async function getMember(db: Db, workspaceId: string, id: string) {
  const [row] = await db
    .select({ json: memberJson })
    .from(members)
    .where(and(eq(members.workspaceId, workspaceId), eq(members.id, id)));
  if (!row) throw notFound("member");
  return parseMember(row.json);
}

/**
 * Lists members newest first, or by matching term when searching. Each filter walks
 * one index in the page's order (see the indexes in ./table.ts), so a page reads about
 * as many rows as it returns: no OFFSET, no scan.
 */
export async function listMembers(db: Db, workspaceId: string, query: Query, visible?: Visible) {
  return query.q === undefined
    ? listNewestFirst(db, workspaceId, query, visible)
    : search(db, workspaceId, query, query.q, visible);
}

function memberFilters(query: Query): SQL[] {
  const filters: SQL[] = [];
  if (query.type) filters.push(eq(members.type, query.type));
  if (query.role) filters.push(eq(members.role, query.role));
  return filters;
}

/**
 * Labels beyond the one whose index drives the list: one primary-key probe each,
 * correlated with the driving member_labels row (not members.id) so that SQLite probes
 * before it reads the member's row, and a member without the label costs no `members` row.
 */
function alsoLabelled(db: Db, labels: readonly string[]): SQL[] {
  const also = alias(memberLabels, "also_labelled");
  return labels.map((label) =>
    exists(
      db
        .select({ one: sql`1` })
        .from(also)
        .where(and(eq(also.memberId, memberLabels.memberId), eq(also.label, label))),
    ),
  );
}

/** `visible`: the caller's role condition as a filter on the members row (worker/access). */
async function listNewestFirst(db: Db, workspaceId: string, query: Query, visible?: Visible) {
  const [firstLabel, ...otherLabels] = query.label ?? [];
  const after = query.cursor ? decodeCursor(query.cursor, 1)[0] : undefined;
  const filters = [...memberFilters(query), ...alsoLabelled(db, otherLabels), ...(visible ? [visible()] : [])];
  const select = { id: members.id, json: memberJson };
  const rows =
    firstLabel === undefined
      ? await db
          .select(select)
          .from(members)
          .where(
            and(
              eq(members.workspaceId, workspaceId),
              eq(members.status, query.status),
              after ? lt(members.id, after) : undefined,
              ...filters,
            ),
          )
          .orderBy(desc(members.id))
          .limit(query.limit + 1)
      : await db
          .select(select)
          .from(memberLabels)
          .innerJoin(members, eq(members.id, memberLabels.memberId))
          .where(
            and(
              eq(memberLabels.workspaceId, workspaceId),
              eq(memberLabels.label, firstLabel),
              eq(memberLabels.status, query.status),
              after ? lt(memberLabels.memberId, after) : undefined,
              ...filters,
            ),
          )
          .orderBy(desc(memberLabels.memberId))
          .limit(query.limit + 1);
  const result = page(rows, query.limit, (row) => [row.id]);
  return { data: result.data.map((row) => parseMember(row.json)), nextCursor: result.nextCursor };
}

/**
 * What a search matches: digits of a phone-like query against phone terms, otherwise
 * the ASCII-lowercased text against name and email terms (SQLite's lower() is ASCII-only).
 */
export function searchPrefix(q: string): string {
  if (/^[+\d\s().-]+$/.test(q) && /\d/.test(q)) return q.replace(/\D/g, "");
  return q.replace(/[A-Z]/g, (ch) => ch.toLowerCase());
}

/** Terms per chain of UNION ALL: D1 caps a compound SELECT at 5 terms. */
const COMPOUND_TERMS = 5;

/**
 * Pages by (term, member id) through member_search, listing each member once, at its
 * smallest matching term: the one matching term that shares fewer than L characters (L,
 * the prefix's length) with the member's next smaller term (`lcp`, kept by the triggers),
 * since any later matching term shares the whole prefix with an earlier one. So a page
 * merges one index range per `lcp` below L (SQLite merges ordered UNION ALL terms lazily)
 * and never reads a member's other terms; checking each term against the member's row
 * instead, a search for "ann" read every "ann.…@" email of the Anns it had listed by name.
 * A page reads its terms, its members, and one row per range: 2 x (limit + 1) + L.
 */
async function search(db: Db, workspaceId: string, query: Query, q: string, visible?: Visible) {
  const prefix = searchPrefix(q);
  const after = query.cursor ? decodeCursor(query.cursor, 2) : undefined;
  // (prefix, "") sorts before every matching (term, member id); a cursor from before the
  // prefix (not one this search gave out) cannot widen the match.
  const from = after && (after[0] ?? "") >= prefix ? [after[0] ?? "", after[1] ?? ""] : [prefix, ""];
  // Every range repeats the same values: numbered, they are bound once.
  const { values, param } = numberedParams();
  const s = memberSearch;
  const conditions = [
    sql`${s.workspaceId} = ${param(workspaceId)}`,
    sql`${s.status} = ${param(query.status)}`,
    sql`(${s.term}, ${s.memberId}) > (${param(from[0])}, ${param(from[1])})`,
    sql`${s.term} < ${param(`${prefix}\u{10FFFF}`)}`,
    ...(query.type ? [sql`${members.type} = ${param(query.type)}`] : []),
    ...(query.role ? [sql`${members.role} = ${param(query.role)}`] : []),
    ...(visible ? [visible(param)] : []),
    ...(query.label ?? []).map(
      (label) =>
        sql`exists (select 1 from ${memberLabels}
          where ${memberLabels.memberId} = ${s.memberId} and ${memberLabels.label} = ${param(label)})`,
    ),
  ];
  const join =
    query.type || query.role || visible ? sql` inner join ${members} on ${members.id} = ${s.memberId}` : sql``;
  // One range per lcp below the prefix's length in characters, as SQLite counts them.
  const ranges = [...prefix].map(
    (_, lcp) =>
      sql`select ${s.term}, ${s.memberId} from ${s}${join}
        where ${sql.join([...conditions, sql`${s.lcp} = ${sql.raw(String(lcp))}`], sql` and `)}`,
  );
  const pageKeys = sql`${merged(ranges)} order by 1, 2 limit ${param(query.limit + 1)}`;
  const rows = await allNumbered<{ term: string; id: string; json: string }>(
    db,
    sql`select "page"."term" as "term", ${members.id} as "id", ${memberJson} as "json"
      from (${pageKeys}) as "page" inner join ${members} on ${members.id} = "page"."member_id"
      order by "page"."term", "page"."member_id"`,
    values,
  );
  const result = page(rows, query.limit, (row) => [row.term, row.id]);
  return { data: result.data.map((row) => parseMember(row.json)), nextCursor: result.nextCursor };
}

/** UNION ALL of SELECTs ordered by their first two columns, nested to stay within D1's cap. */
function merged(selects: SQL[]): SQL {
  if (selects.length <= COMPOUND_TERMS) return sql.join(selects, sql` union all `);
  const size = Math.ceil(selects.length / COMPOUND_TERMS);
  const groups = Array.from(
    { length: Math.ceil(selects.length / size) },
    (_, i) => sql`select * from (${merged(selects.slice(i * size, (i + 1) * size))} order by 1, 2)`,
  );
  return sql.join(groups, sql` union all `);
}
