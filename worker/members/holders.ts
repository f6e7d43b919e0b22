import { type SQL, sql } from "drizzle-orm";
import type { Db } from "../lib/db";
import { isLean } from "../upgrades/state";
import { memberLabels } from "./legacy/tables";
import { membersByLabel } from "./table";

/**
 * The members-by-label index of the layout that is live: both layouts key it
 * (workspace_id, label, status, member_id), so a walk over it reads the same either way.
 */
export async function labelIndex(db: Db) {
  return (await isLean(db)) ? membersByLabel : memberLabels;
}

/**
 * SQL selecting the ids of the members holding `label`, through the label index of the
 * layout that is live; with `limit`, at most that many, in the index's order (the same for
 * every statement of one batch that nothing between them changes).
 */
export async function holdersOf(db: Db, workspaceId: string, label: string, limit?: number): Promise<SQL> {
  const t = await labelIndex(db);
  const bound = limit === undefined ? sql`` : sql` limit ${limit}`;
  return sql`select ${t.memberId} from ${t} where ${t.workspaceId} = ${workspaceId} and ${t.label} = ${label}${bound}`;
}
