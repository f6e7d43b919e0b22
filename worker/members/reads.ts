import { and, eq, type SQL, sql } from "drizzle-orm";
import { decodeCursor, page } from "../lib/cursor";
import { allNumbered, type Db, numberedParams } from "../lib/db";
import { notFound } from "../lib/errors";
import { mergedUnion } from "../lib/union";
import type { ReachFilter } from "../reach/reach";
import { roles } from "../roles/table";
import { isLean } from "../upgrades/state";
import { joinMember, memberFilters, type Query, type Row } from "./filters";
import { memberJson, parseMember } from "./json";
import { listMembersFromCoveringRows } from "./legacy/reads";
import { searchMembers } from "./search";
import { members, membersByLabel, membersByLabelPair } from "./table";

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
 * index keys in the page's order and joins each member once (one row read a member:
 * the index rows carry keys only), so a page reads about twice the rows it returns.
 * `within`: the caller's role condition as a filter on the members row (worker/reach).
 */
export async function listMembers(db: Db, workspaceId: string, query: Query, within?: ReachFilter) {
  if (!(await isLean(db))) return listMembersFromCoveringRows(db, workspaceId, query, within);
  const found =
    query.q === undefined
      ? await listNewestFirst(db, workspaceId, query, within)
      : await searchMembers(db, workspaceId, query, query.q, within);
  return { data: found.data.map((row) => parseMember(row.json)), nextCursor: found.nextCursor };
}

async function listNewestFirst(db: Db, workspaceId: string, query: Query, within?: ReachFilter) {
  const after = query.cursor ? decodeCursor(query.cursor, 1)[0] : undefined;
  const labels = [...new Set(query.label ?? [])].sort();
  const rows = labels.length
    ? await listLabelled(db, workspaceId, query, labels, after, within)
    : await listByRoles(db, workspaceId, query, after, within);
  return page(rows, query.limit, (row) => [row.id]);
}

/**
 * The members of a status, newest first: one range of `members_by_status_role` per role
 * (of the type asked for, or the one role asked for), merged by id. A workspace has a
 * few roles, so a page reads its members, plus one row a role.
 */
async function listByRoles(db: Db, workspaceId: string, query: Query, after: string | undefined, within?: ReachFilter) {
  const keys = query.role
    ? [query.role]
    : (
        await db
          .select({ key: roles.key })
          .from(roles)
          .where(and(eq(roles.workspaceId, workspaceId), query.type ? eq(roles.type, query.type) : undefined))
      ).map((r) => r.key);
  if (keys.length === 0) return [];
  const { values, param } = numberedParams();
  const ranges = keys.map(
    (role) => sql`select ${members.id} as "id", ${memberJson} as "json" from ${members}
      where ${sql.join(
        [
          sql`${members.workspaceId} = ${param(workspaceId)}`,
          sql`${members.status} = ${param(query.status)}`,
          sql`${members.role} = ${param(role)}`,
          ...(after ? [sql`${members.id} < ${param(after)}`] : []),
          ...(query.type ? [sql`${members.type} = ${param(query.type)}`] : []),
          ...(within ? [within(param)] : []),
        ],
        sql` and `,
      )}`,
  );
  return allNumbered<Row>(
    db,
    sql`${mergedUnion(ranges, sql`1 desc`)} order by 1 desc limit ${param(query.limit + 1)}`,
    values,
  );
}

/**
 * Lists by labels, newest first. One label walks members_by_label; two or more walk the
 * pair of the first two in members_by_label_pair, merged (by member id, lazily) with the
 * few members who have too many labels for pair rows (members_by_label's `many` index).
 * A page reads one index row and one member a member it considers.
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
    row: typeof membersByLabel | typeof membersByLabelPair,
    keyed: SQL[],
    probed: readonly string[],
    index = sql``,
  ) => {
    const where = [
      sql`${row.workspaceId} = ${param(workspaceId)}`,
      sql`${row.label} = ${param(first)}`,
      ...keyed,
      sql`${row.status} = ${param(query.status)}`,
      ...(after ? [sql`${row.memberId} < ${param(after)}`] : []),
      ...memberFilters(query, probed, param, within),
    ];
    return sql`select ${row.memberId} as "id", ${memberJson} as "json" from ${row}${index}${joinMember(row)}
      where ${sql.join(where, sql` and `)}`;
  };
  const arms =
    second === undefined
      ? [arm(membersByLabel, [], others)]
      : [
          arm(membersByLabelPair, [sql`${membersByLabelPair.other} = ${param(second)}`], others),
          // The partial index holds only these members; left to itself, SQLite walks the
          // primary key instead, past every member with the first label.
          arm(
            membersByLabel,
            [sql`${membersByLabel.many} = 1`],
            [second, ...others],
            sql` indexed by "members_by_label_many"`,
          ),
        ];
  return allNumbered<Row>(
    db,
    sql`${sql.join(arms, sql` union all `)} order by 1 desc limit ${param(query.limit + 1)}`,
    values,
  );
}
