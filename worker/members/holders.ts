import { type SQL, sql } from "drizzle-orm";
import type { Db } from "../lib/db";
import { isLean } from "../upgrades/state";
import { memberLabels } from "./legacy/tables";
import { membersByLabel } from "./table";

/** SQL selecting the ids of the members holding `label`, through the label index of the layout that is live. */
export async function holdersOf(db: Db, workspaceId: string, label: string): Promise<SQL> {
  const t = (await isLean(db)) ? membersByLabel : memberLabels;
  return sql`select ${t.memberId} from ${t} where ${t.workspaceId} = ${workspaceId} and ${t.label} = ${label}`;
}
