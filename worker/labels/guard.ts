import { and, eq, isNotNull, type SQL, sql } from "drizzle-orm";
import type { Db } from "../lib/db";
import { ApiError } from "../lib/errors";
import { isCheckViolation } from "../lib/sqlite-errors";
import { labelGuard, labels } from "./table";

/**
 * A label being deleted (./deletion.ts) must not come back halfway: a write that names one
 * (a member created, edited or given labels, an import row, an action's label) is refused
 * until the deletion finishes; then naming it creates it afresh.
 */
export const LABEL_DELETING = "The label is being deleted: name it again once its deletion has finished.";

/** OpenAPI: the 409 of a write that names labels. */
export const LABEL_DELETING_RESPONSE = "label_deleting: a label it names is being deleted";

/** SQL: how many of `slugs` (a JSON array) are labels of the workspace being deleted now (inside a batch: as it finds them). */
export const deletingAmong = (workspaceId: string, slugs: string) =>
  sql`(select count(*) from ${labels} where ${labels.workspaceId} = ${workspaceId}
    and ${labels.slug} in (select value from json_each(${slugs})) and ${labels.deletingSince} is not null)`;

/**
 * The last statement of a write naming `slugs`: trips label_guard's CHECK (so D1 rolls the
 * whole batch back) when one of them is being deleted as the batch runs. With `when`, only
 * if it holds then (the write happened).
 */
export function guardLabelsLive(db: Db, workspaceId: string, slugs: readonly string[], when?: SQL) {
  if (slugs.length === 0) return [];
  const deleting = sql`${deletingAmong(workspaceId, JSON.stringify(slugs))} > 0`;
  return [db.insert(labelGuard).select(sql`select 1 where ${when ? sql`${when} and ` : sql``}${deleting}`)];
}

/** 409 label_deleting for a batch that `guardLabelsLive` stopped; undefined for any other error. */
export function labelDeletingRefusal(err: unknown): ApiError | undefined {
  return isCheckViolation(err, "label_deleting") ? new ApiError(409, "label_deleting", LABEL_DELETING) : undefined;
}

/** The workspace's labels being deleted now (few: one per deletion under way). */
export async function deletingLabels(db: Db, workspaceId: string): Promise<Set<string>> {
  const rows = await db
    .select({ slug: labels.slug })
    .from(labels)
    .where(and(eq(labels.workspaceId, workspaceId), isNotNull(labels.deletingSince)));
  return new Set(rows.map((r) => r.slug));
}
