import { and, eq, lte, sql } from "drizzle-orm";
import { BatchSizer, boundsFrom, giveWay, logBatch, type SizeBounds } from "../lib/bounded";
import { type Db, d1Statement } from "../lib/db";
import { MEMBER_STATUSES } from "../members/schema";
import { members } from "../members/table";
import { roles } from "./table";

/**
 * Members carry their role's type (`members.type`, so lists filter by type through an
 * index). When a role's type changes, its members are brought in step a bounded batch at
 * a time, each one D1 transaction sized toward 50 ms (../lib/bounded.ts), instead of one
 * UPDATE of every member holding it. Meanwhile the role (`roles.type`) is what decides:
 * a caller's type and the customer rule are read from it (worker/lib/auth.ts), so a
 * member's powers change with the role at once; lists by type and member JSON catch up
 * within the job.
 *
 * A pass walks the role's members status by status in id order (the index
 * members_by_status_role, members_by_role before the lean layout: the same columns), a
 * page at a time, and sets the type of those that lag. A member whose status changed
 * during a pass may be missed by it, so passes repeat until one finds nobody lagging; then
 * the mark (`roles.retypingSince`) is cleared, unless the type changed again since that
 * pass began. Every batch sets the role's type as it finds it, so a batch repeated after a
 * crash, or run beside another, changes nothing twice.
 */

/** Members a batch reads (and updates where they lag): one page of the index, a row each. */
export const MEMBERS: SizeBounds = { min: 50, max: 5000 };
const MEMBERS_START = 500;

/** Where a retype stands: carried by its queue message from one invocation to the next. */
export type RetypeCursor = {
  /** When this pass began (ISO), and members it changed so far. */
  passStarted: string;
  changed: number;
  /** Index into MEMBER_STATUSES, and the last member id done in that status. */
  status: number;
  after: string;
};

export const firstPass = (): RetypeCursor => ({
  passStarted: new Date().toISOString(),
  changed: 0,
  status: 0,
  after: "",
});

/** Marks a role's members as lagging its type: for the batch that changes the type. */
export function markRetyping(db: Db, workspaceId: string, key: string, at: string) {
  return db
    .update(roles)
    .set({ retypingSince: at })
    .where(and(eq(roles.workspaceId, workspaceId), eq(roles.key, key)));
}

/**
 * Runs batches until the role's members all carry its type (answers null) or `deadline`
 * (ms since the epoch) passes or `maxBatches` ran (answers where it stands).
 */
export async function continueRetype(
  env: object,
  db: Db,
  workspaceId: string,
  key: string,
  from: RetypeCursor,
  { deadline, maxBatches = Number.POSITIVE_INFINITY }: { deadline: number; maxBatches?: number },
): Promise<RetypeCursor | null> {
  const sizer = new BatchSizer(boundsFrom(env, MEMBERS), MEMBERS_START);
  const typeNow = sql`(select ${roles.type} from ${roles} where ${roles.workspaceId} = ${workspaceId} and ${roles.key} = ${key})`;
  let cursor = from;
  for (let n = 1; ; n++) {
    const status = MEMBER_STATUSES[cursor.status];
    if (status === undefined) {
      if (cursor.changed > 0) {
        cursor = firstPass();
        continue;
      }
      // A whole pass found nobody lagging: done, unless the type changed again since it began.
      await db
        .update(roles)
        .set({ retypingSince: null })
        .where(
          and(eq(roles.workspaceId, workspaceId), eq(roles.key, key), lte(roles.retypingSince, cursor.passStarted)),
        );
      return null;
    }
    const page = sql`select ${members.id} from ${members}
      where ${members.workspaceId} = ${workspaceId} and ${members.status} = ${status} and ${members.role} = ${key}
        and ${members.id} > ${cursor.after}
      order by ${members.id} limit ${sizer.size}`;
    const d1 = db.$client;
    const results = await d1.batch([
      d1Statement(
        d1,
        sql`update ${members} set type = ${typeNow}
          where ${members.workspaceId} = ${workspaceId} and ${members.id} in (${page}) and ${members.type} is not ${typeNow}`,
      ),
      d1Statement(d1, sql`select max(id) as last, count(*) as n from (${page})`),
    ]);
    const [updated, read] = results;
    const { last, n: found } = (read?.results[0] as { last: string | null; n: number } | undefined) ?? {
      last: null,
      n: 0,
    };
    const limit = sizer.size;
    const ms = sizer.record(results, found);
    logBatch(env, "role.retype", { workspace: workspaceId, members: found, ms });
    cursor = {
      ...cursor,
      changed: cursor.changed + (updated?.meta.changes ?? 0),
      ...(found < limit || last === null ? { status: cursor.status + 1, after: "" } : { after: last }),
    };
    if (Date.now() >= deadline || n >= maxBatches) return cursor;
    await giveWay();
  }
}
