import { type AnyColumn, and, desc, eq, lt, type SQL, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/sqlite-core";
import type * as v from "valibot";
import { decodeCursor, page } from "../../lib/cursor";
import { allNumbered, type Db, numberedParams } from "../../lib/db";
import { mergedUnion } from "../../lib/union";
import type { ReachFilter } from "../../reach/reach";
import type { Bind } from "../../reach/to-sql";
import { parseMember } from "../json";
import type { ListMembersQuery } from "../schema";
import { members } from "../table";
import { memberLabelPairs, memberLabels, memberSearch } from "./tables";

type Query = v.InferOutput<typeof ListMembersQuery>;

/**
 * The lists of the layout before issue 19 (its covering index rows carry the member's
 * JSON), read until the lean layout's upgrade swaps it out (worker/upgrades): lists
 * members newest first, or by matching term when searching. Each filter walks
 * one index in the page's order (see the indexes in ./table.ts), so a page reads about
 * as many rows as it returns: no OFFSET, no scan.
 */
export async function listMembersFromCoveringRows(db: Db, workspaceId: string, query: Query, within?: ReachFilter) {
  return query.q === undefined
    ? listNewestFirst(db, workspaceId, query, within)
    : search(db, workspaceId, query, query.q, within);
}

/** `within`: the caller's role condition as a filter on the members row (worker/reach). */
async function listNewestFirst(db: Db, workspaceId: string, query: Query, within?: ReachFilter) {
  const after = query.cursor ? decodeCursor(query.cursor, 1)[0] : undefined;
  const labels = [...new Set(query.label ?? [])].sort();
  const rows = labels.length
    ? await listLabelled(db, workspaceId, query, labels, after, within)
    : await db
        // The generated column alone, as the covering rows below copied it: this layout's
        // lists predate attributes (migrations/0022_member-attributes.sql), which they show
        // once the upgrade swaps it out.
        .select({ id: members.id, json: sql<string>`${members.json}` })
        .from(members)
        .where(
          and(
            eq(members.workspaceId, workspaceId),
            eq(members.status, query.status),
            after ? lt(members.id, after) : undefined,
            query.type ? eq(members.type, query.type) : undefined,
            query.role ? eq(members.role, query.role) : undefined,
            within?.(),
          ),
        )
        .orderBy(desc(members.id))
        .limit(query.limit + 1);
  const result = page(rows, query.limit, (row) => [row.id]);
  return { data: result.data.map((row) => parseMember(row.json)), nextCursor: result.nextCursor };
}

/** An index row carrying the member's JSON: member_labels, member_label_pairs, or `search`'s hits. */
type Covering = { memberId: AnyColumn; json: AnyColumn };

/**
 * Filters on an index row that carries the member's JSON: type and role are read from
 * it, so only a role condition (over the members row) joins `members`; labels beyond
 * those the index walks are primary-key probes of member_labels.
 */
function coveringFilters(row: Covering, query: Query, labels: readonly string[], param: Bind, within?: ReachFilter) {
  const conditions = [
    ...(query.type ? [sql`${row.json} ->> 'type' = ${param(query.type)}`] : []),
    ...(query.role ? [sql`${row.json} ->> 'role' = ${param(query.role)}`] : []),
    ...(within ? [within(param)] : []),
    ...labels.map((label, i) => {
      // Inside a raw template an alias renders as its name alone: name the table too.
      const name = `also_labelled_${i}`;
      const also = alias(memberLabels, name);
      return sql`exists (select 1 from ${memberLabels} as ${sql.identifier(name)}
        where ${also.memberId} = ${row.memberId} and ${also.label} = ${param(label)})`;
    }),
  ];
  const join = within ? sql` inner join ${members} on ${members.id} = ${row.memberId}` : sql``;
  return { conditions, join };
}

/**
 * Lists by labels through their covering rows, newest first. One label walks
 * member_labels; two or more walk the pair of the first two in member_label_pairs, merged
 * (by member id, lazily) with the few members who have too many labels for pair rows
 * (member_labels' `many` index), and probe the rest. A page reads one row per member it
 * considers, and never `members` unless a role condition applies.
 */
async function listLabelled(
  db: Db,
  workspaceId: string,
  query: Query,
  labels: readonly string[],
  after: string | undefined,
  within?: ReachFilter,
) {
  const { values, param } = numberedParams();
  const [first = "", second, ...others] = labels;
  const arm = (
    row: typeof memberLabels | typeof memberLabelPairs,
    keyed: SQL[],
    probed: readonly string[],
    index = sql``,
  ) => {
    const { conditions, join } = coveringFilters(row, query, probed, param, within);
    const where = [
      sql`${row.workspaceId} = ${param(workspaceId)}`,
      sql`${row.label} = ${param(first)}`,
      ...keyed,
      sql`${row.status} = ${param(query.status)}`,
      ...(after ? [sql`${row.memberId} < ${param(after)}`] : []),
      ...conditions,
    ];
    return sql`select ${row.memberId} as "id", ${row.json} as "json" from ${row}${index}${join}
      where ${sql.join(where, sql` and `)}`;
  };
  const arms =
    second === undefined
      ? [arm(memberLabels, [], others)]
      : [
          arm(memberLabelPairs, [sql`${memberLabelPairs.other} = ${param(second)}`], others),
          // The partial index holds only these members; left to itself, SQLite walks the
          // primary key instead, past every member with the first label.
          arm(
            memberLabels,
            [sql`${memberLabels.many} = 1`],
            [second, ...others],
            sql` indexed by "member_labels_many"`,
          ),
        ];
  return allNumbered<{ id: string; json: string }>(
    db,
    sql`${sql.join(arms, sql` union all `)} order by 1 desc limit ${param(query.limit + 1)}`,
    values,
  );
}

/**
 * What a search matches: digits of a phone-like query against phone terms, otherwise
 * the ASCII-lowercased text against name and email terms (SQLite's lower() is ASCII-only).
 */
export function searchPrefix(q: string): string {
  if (/^[+\d\s().-]+$/.test(q) && /\d/.test(q)) return q.replace(/\D/g, "");
  return q.replace(/[A-Z]/g, (ch) => ch.toLowerCase());
}

/**
 * Pages by (term, member id) through member_search, listing each member once, at its
 * smallest matching term: the one matching term that shares fewer than L characters (L,
 * the prefix's length) with the member's next smaller term (`lcp`, kept by the triggers),
 * since any later matching term shares the whole prefix with an earlier one. So a page
 * merges one index range per `lcp` below L (SQLite merges ordered UNION ALL terms lazily)
 * and never reads a member's other terms; checking each term against the member's row
 * instead, a search for "ann" read every "ann.…@" email of the Anns it had listed by name.
 * Each term row carries its member's JSON, so a page reads its terms and one row per
 * range, limit + 1 + L, and no `members` row unless a role condition applies.
 *
 * The filters (labels, type, role, role condition) are written once, over the union:
 * SQLite flattens it into the outer query and pushes them into each range, which still
 * skips what does not match as it walks. Written into each range, they made a statement
 * over D1's 100,000 bytes (https://developers.cloudflare.com/d1/platform/limits/) for a
 * long q: 100 ranges, each with 10 labels and a condition's SQL (some 10,000 bytes from
 * its 1,000 characters). Now the ranges take some 340 bytes each, and the longest q with
 * every filter and the longest condition makes some 46,000 bytes.
 */
async function search(db: Db, workspaceId: string, query: Query, q: string, within?: ReachFilter) {
  const prefix = searchPrefix(q);
  const after = query.cursor ? decodeCursor(query.cursor, 2) : undefined;
  // (prefix, "") sorts before every matching (term, member id); a cursor from before the
  // prefix (not one this search gave out) cannot widen the match.
  const from = after && (after[0] ?? "") >= prefix ? [after[0] ?? "", after[1] ?? ""] : [prefix, ""];
  // Every range repeats the same values: numbered, they are bound once.
  const { values, param } = numberedParams();
  const s = memberSearch;
  const bounds = [
    sql`${s.workspaceId} = ${param(workspaceId)}`,
    sql`${s.status} = ${param(query.status)}`,
    sql`(${s.term}, ${s.memberId}) > (${param(from[0])}, ${param(from[1])})`,
    sql`${s.term} < ${param(`${prefix}\u{10FFFF}`)}`,
  ];
  // One range per lcp below the prefix's length in characters, as SQLite counts them.
  // Bare columns keep their names (term, member_id, json), which `hits` reads them by.
  const ranges = [...prefix].map(
    (_, lcp) =>
      sql`select ${s.term}, ${s.memberId}, ${s.json} from ${s}
        where ${sql.join([...bounds, sql`${s.lcp} = ${sql.raw(String(lcp))}`], sql` and `)}`,
  );
  // The union, named as member_search rows, so the filters read it as they read an index row.
  const hits = alias(memberSearch, "hits");
  const filters = coveringFilters(hits, query, query.label ?? [], param, within);
  const where = filters.conditions.length ? sql` where ${sql.join(filters.conditions, sql` and `)}` : sql``;
  const rows = await allNumbered<{ term: string; id: string; json: string }>(
    db,
    sql`select ${hits.term} as "term", ${hits.memberId} as "id", ${hits.json} as "json"
      from (${mergedUnion(ranges, sql`1, 2`)}) as ${sql.identifier("hits")}${filters.join}${where}
      order by 1, 2 limit ${param(query.limit + 1)}`,
    values,
  );
  const result = page(rows, query.limit, (row) => [row.term, row.id]);
  return { data: result.data.map((row) => parseMember(row.json)), nextCursor: result.nextCursor };
}
