import { and, desc, eq, exists, gt, lt, or, type SQL, sql } from "drizzle-orm";
import type * as v from "valibot";
import { decodeCursor, page } from "../lib/cursor";
import type { Db } from "../lib/db";
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
export async function listMembers(db: Db, workspaceId: string, query: Query) {
  return query.q === undefined ? listNewestFirst(db, workspaceId, query) : search(db, workspaceId, query, query.q);
}

function memberFilters(query: Query): SQL[] {
  const filters: SQL[] = [];
  if (query.type) filters.push(eq(members.type, query.type));
  if (query.role) filters.push(eq(members.role, query.role));
  return filters;
}

/** Further labels beyond the one whose index drives the query: each is one primary-key probe. */
function alsoLabelled(db: Db, labels: readonly string[]): SQL[] {
  return labels.map((label) =>
    exists(
      db
        .select({ one: sql`1` })
        .from(memberLabels)
        .where(and(eq(memberLabels.memberId, members.id), eq(memberLabels.label, label))),
    ),
  );
}

async function listNewestFirst(db: Db, workspaceId: string, query: Query) {
  const [firstLabel, ...otherLabels] = query.label ?? [];
  const after = query.cursor ? decodeCursor(query.cursor, 1)[0] : undefined;
  const filters = [...memberFilters(query), ...alsoLabelled(db, otherLabels)];
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

/**
 * The member's search terms, as the member_search triggers derive them (keep the two
 * in step): lowercased name, the name after its first space, email, phone digits and
 * the national number.
 */
const searchTerms = [
  sql`lower(${members.name})`,
  sql`case when instr(${members.name}, ' ') > 0
    then lower(substr(${members.name}, instr(${members.name}, ' ') + 1)) end`,
  sql`${members.email}`,
  sql`substr(${members.phone}, 2)`,
  sql`${members.phoneNational}`,
];

async function search(db: Db, workspaceId: string, query: Query, q: string) {
  const prefix = searchPrefix(q);
  const end = `${prefix}\u{10FFFF}`;
  const after = query.cursor ? decodeCursor(query.cursor, 2) : undefined;
  // A member with several matching terms is listed once, at its smallest matching term.
  const isSmallestMatch = and(
    ...searchTerms.map(
      (term) => sql`not (coalesce(${term}, '') between ${prefix} and ${end} and ${term} < ${memberSearch.term})`,
    ),
  );
  const rows = await db
    .select({ term: memberSearch.term, id: members.id, json: memberJson })
    .from(memberSearch)
    .innerJoin(members, eq(members.id, memberSearch.memberId))
    .where(
      and(
        eq(memberSearch.workspaceId, workspaceId),
        eq(memberSearch.status, query.status),
        sql`${memberSearch.term} >= ${prefix} and ${memberSearch.term} < ${end}`,
        after
          ? or(
              gt(memberSearch.term, after[0] ?? ""),
              and(eq(memberSearch.term, after[0] ?? ""), gt(memberSearch.memberId, after[1] ?? "")),
            )
          : undefined,
        isSmallestMatch,
        ...memberFilters(query),
        ...alsoLabelled(db, query.label ?? []),
      ),
    )
    .orderBy(memberSearch.term, memberSearch.memberId)
    .limit(query.limit + 1);
  const result = page(rows, query.limit, (row) => [row.term, row.id]);
  return { data: result.data.map((row) => parseMember(row.json)), nextCursor: result.nextCursor };
}
