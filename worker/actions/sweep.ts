import { and, inArray, isNull, lt, or, sql } from "drizzle-orm";
import { events } from "../events/table";
import { BatchSizer, logBatch, type SizeBounds } from "../lib/bounded";
import { database } from "../lib/db";
import { actionCursors, actionRuns, actions } from "./table";
import { enqueueRuns } from "./webhooks";

/**
 * How long a pending run may be overdue before the sweep enqueues it again: beyond the
 * queue's own latency, so a message merely on its way is not doubled (a double would
 * be harmless anyway, see the lease in ./webhooks.ts).
 */
export const SWEEP_GRACE_MS = 10 * 60_000;
/** Runs enqueued again per sweep; the next sweep takes the rest. */
const SWEEP_LIMIT = 500;
/**
 * Runs taken per statement: each a row of action_runs and its entry in action_runs_due
 * rewritten; sized toward 50 ms of D1 time (../lib/bounded.ts), at most the sweep's limit.
 */
const TAKEN_PER_BATCH: SizeBounds = { min: 10, max: SWEEP_LIMIT };

/**
 * The safety net that makes actions at-least-once (run by the Cron Trigger on every
 * shard, see worker/index.ts): enqueues again the webhook, email and SMS runs still pending well
 * after they were due (their message was lost: a crash between recording the run and
 * enqueueing it, a consumer that died mid-attempt), and pokes the workspaces whose
 * actions lag behind their event log (a poke lost while nobody watched, so no alarm).
 * The run's id, and so its `webhook-id`, is the same on every redelivery.
 */
export async function sweepActions(env: Env, d1: D1Database, at: number, poke: (workspaceId: string) => Promise<void>) {
  const db = database(d1);
  const cutoff = new Date(at - SWEEP_GRACE_MS).toISOString();
  const nowIso = new Date(at).toISOString();
  // `status = 'pending'` as a literal, so SQLite uses the partial index action_runs_due.
  const pending = sql`${actionRuns.status} = 'pending'`;
  const overdue = (limit: number) =>
    db
      .select({ id: actionRuns.id })
      .from(actionRuns)
      .where(
        and(
          pending,
          lt(actionRuns.dueAt, cutoff),
          or(isNull(actionRuns.leaseUntil), lt(actionRuns.leaseUntil, nowIso)),
        ),
      )
      .limit(limit);
  const sizer = new BatchSizer(TAKEN_PER_BATCH, 100);
  const ids: string[] = [];
  while (ids.length < SWEEP_LIMIT) {
    const limit = Math.min(sizer.size, SWEEP_LIMIT - ids.length);
    // Due again from now: the next sweep leaves them to this one's messages for a grace period
    // (and this loop's next statement does not take them again).
    const query = db
      .update(actionRuns)
      .set({ dueAt: nowIso })
      .where(and(pending, inArray(actionRuns.id, overdue(limit))))
      .returning({ id: actionRuns.id, workspaceId: actionRuns.workspaceId })
      .toSQL();
    const taken = await db.$client
      .prepare(query.sql)
      .bind(...query.params)
      .all<{ id: string; workspace_id: string }>();
    const ms = sizer.record([taken], taken.results.length);
    logBatch(env, "actions.sweep", { runs: taken.results.length, ms });
    const batch = taken.results.map((r) => r.id);
    const byWorkspace = new Map<string, string[]>();
    for (const run of taken.results)
      byWorkspace.set(run.workspace_id, [...(byWorkspace.get(run.workspace_id) ?? []), run.id]);
    for (const [workspaceId, runs] of byWorkspace) await enqueueRuns(env, workspaceId, runs);
    ids.push(...batch);
    if (batch.length < limit) break;
  }
  // Paused actions run no more: a workspace with only those does not lag.
  const lagging = await db
    .select({ workspaceId: actions.workspaceId })
    .from(actions)
    .where(isNull(actions.pausedAt))
    .groupBy(actions.workspaceId)
    .having(
      sql`max(coalesce((select ${actionCursors.seq} from ${actionCursors} where ${actionCursors.workspaceId} = ${actions.workspaceId}), 0), min(${actions.afterSeq}))
        < (select coalesce(max(${events.seq}), 0) from ${events} where ${events.workspaceId} = ${actions.workspaceId})`,
    );
  await Promise.all(lagging.map((w) => poke(w.workspaceId)));
  return { requeued: ids.length, poked: lagging.length };
}
