import { type SQL, sql } from "drizzle-orm";
import type * as v from "valibot";
import type { ReachFilter } from "../reach/reach";
import type { Bind } from "../reach/to-sql";
import type { ListMembersQuery } from "./schema";
import { members } from "./table";

/** What lists and searches share: the list's query, a row they answer, and the filters on its member. */
export type Query = v.InferOutput<typeof ListMembersQuery>;
export type Row = { id: string; json: string };

/** An index row naming a member: members_by_label, members_by_label_pair, or a search's hits. */
type IndexRow = { memberId: SQL.Aliased | { getSQL(): SQL } };

/**
 * The filters a list applies to the member an index row names, joined as `members`:
 * type, role, the role condition, and labels beyond those the index walks (read from
 * the member's own labels: no further row read).
 */
export function memberFilters(query: Query, labels: readonly string[], param: Bind, within?: ReachFilter): SQL[] {
  return [
    ...(query.type ? [sql`${members.type} = ${param(query.type)}`] : []),
    ...(query.role ? [sql`${members.role} = ${param(query.role)}`] : []),
    ...(within ? [within(param)] : []),
    ...labels.map((label) => sql`exists (select 1 from json_each(${members.labels}) where value = ${param(label)})`),
  ];
}

/** `members` joined to an index row's member, for its JSON and the filters. */
export const joinMember = (row: IndexRow) => sql` join ${members} on ${members.id} = ${row.memberId}`;
