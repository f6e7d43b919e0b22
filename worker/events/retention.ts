import { and, isNotNull, notInArray, sql } from "drizzle-orm";
import { actionCursors, actionRuns, actions } from "../actions/table";
import type { Db } from "../lib/db";
import { movingWorkspaces } from "../moves/table";
import { workspaces } from "../platform/table";
import { events } from "./table";

const DAY_MS = 24 * 60 * 60 * 1000;
/** Events the hourly sweep deletes per statement, and statements per run and shard. */
const SWEEP = { rows: 500, batches: 40 };

/**
 * The hourly sweep of workspaces that keep events for `eventRetentionDays`: deletes, oldest
 * first and in bounded batches, the events logged before the window. What it deletes is
 * always a prefix of the log, so the kept log has no gaps and its oldest event tells a
 * reader what it missed (GET /v1/events starts there; the live stream sends `reset`).
 * It never deletes:
 * - the log's latest event: `seq` is numbered from max(seq) (./append.ts), and a new event
 *   must not take the number of one a client already saw;
 * - an event an action has yet to run for: past the workspace's action cursor, while an
 *   unpaused action was created before it (worker/actions/run.ts reads from there);
 * - an event of a pending run (a delivery still to attempt, or replayed), or anything after it;
 * - anything of a workspace being moved (a frozen workspace's rows refuse deletes).
 * Each statement checks all of it as it deletes, so a replay or a move starting meanwhile is seen.
 */
export async function sweepExpiredEvents(db: Db, now: number) {
  const due = await db
    .select({ id: workspaces.id, days: workspaces.eventRetentionDays })
    .from(workspaces)
    .where(
      and(
        isNotNull(workspaces.eventRetentionDays),
        notInArray(workspaces.id, db.select({ id: movingWorkspaces.workspaceId }).from(movingWorkspaces)),
      ),
    );
  let budget = SWEEP.batches;
  for (const { id, days } of due) {
    if (days === null) continue;
    const cutoff = new Date(now - days * DAY_MS).toISOString();
    while (budget > 0) {
      budget--;
      const deleted = await db.run(expiredPrefix(id, cutoff));
      if (deleted.meta.changes < SWEEP.rows) break;
    }
    if (budget === 0) return;
  }
}

/**
 * Deletes up to SWEEP.rows of the workspace's oldest events, stopping at the first one that
 * must stay: logged at or after `cutoff` (an event's `at` may precede an earlier seq's, e.g.
 * an import's), or protected (see above). Reads the oldest rows by the primary key only.
 */
function expiredPrefix(ws: string, cutoff: string) {
  const oldest = sql`(select ${events.seq}, ${events.at} from ${events} where ${events.workspaceId} = ${ws} order by ${events.seq} limit ${SWEEP.rows})`;
  // The last seq before the first of the oldest rows to keep by its time (all of them: none).
  const beforeRecent = sql`coalesce(
    (select min(seq) - 1 from ${oldest} where at >= ${cutoff}),
    (select max(seq) from ${oldest}))`;
  const head = sql`(select max(${events.seq}) from ${events} where ${events.workspaceId} = ${ws})`;
  const pending = sql`(select min(${actionRuns.seq}) from ${actionRuns} where ${actionRuns.workspaceId} = ${ws} and ${actionRuns.status} = 'pending')`;
  const cursor = sql`coalesce((select ${actionCursors.seq} from ${actionCursors} where ${actionCursors.workspaceId} = ${ws}), 0)`;
  // The first event an unpaused action still owes: past both its own start and the cursor.
  const owed = sql`(select min(max(${actions.afterSeq}, ${cursor})) + 1 from ${actions} where ${actions.workspaceId} = ${ws} and ${actions.pausedAt} is null)`;
  return sql`delete from ${events} where ${events.workspaceId} = ${ws}
    and ${events.seq} <= ${beforeRecent}
    and ${events.seq} < ${head}
    and ${events.seq} < coalesce(${pending}, ${head})
    and ${events.seq} < coalesce(${owed}, ${head})
    and not exists (select 1 from ${movingWorkspaces} where ${movingWorkspaces.workspaceId} = ${ws})`;
}
