import { and, eq, isNull, lte, sql } from "drizzle-orm";
import { CelError, celPerson, compile, evaluateOutcome, type MemberLike, type Outcome } from "../cel/cel";
import { actingAs } from "../events/acting";
import { appendEvent, now } from "../events/append";
import { events } from "../events/table";
import { ensureLabels } from "../labels/ensure";
import { labelDeletingRefusal } from "../labels/guard";
import { type Db, database } from "../lib/db";
import { newId } from "../lib/ids";
import { memberJson } from "../members/json";
import { labelsWith, lacksSomeOf } from "../members/label-sql";
import { members } from "../members/table";
import { roles } from "../roles/table";
import { creatorColumns, creatorOn, creatorRoleOn, pauseStatements, runRefusal } from "./authority";
import { type ActionRow, type Attempt, actionCursors, actionRuns, actions } from "./table";
import { triggerMatches } from "./triggers";
import { enqueueRuns } from "./webhooks";

/** Events read per step of the cursor. */
const PAGE = 100;
/**
 * Loop protection: an action never runs for an event it caused, and a chain of events
 * caused by actions (A's label change triggers B, whose change triggers A...) stops
 * after this many links.
 */
export const MAX_CHAIN = 3;

type Cause = { action: string; depth: number };
type EventData = { member?: MemberLike; joinRequest?: MemberLike; causedBy?: Cause } & Record<string, unknown>;
type LoggedEvent = { seq: number; type: string; at: string; data: string };
/** An action that has not paused, with why it must pause at its next run (null: it runs). */
type Active = ActionRow & { refusal: string | null };

/**
 * Runs the workspace's actions for the events after its cursor, in seq order, then
 * moves the cursor: each event is seen once, and a run is recorded once per action and
 * event (unique index), so a step repeated after a crash does not run anything twice.
 * Called by the workspace's Durable Object after each delivery, one call at a time.
 * Answers whether it appended events (label changes, pauses), which must be delivered in turn.
 * Paused actions do not run; one whose creator no longer stands behind it (./authority.ts,
 * judged once per call) pauses at the first event it would run for.
 */
export async function runActions(env: Env, d1: D1Database, workspaceId: string): Promise<boolean> {
  const db = database(d1);
  const rows = await db
    .select({ action: actions, creator: creatorColumns })
    .from(actions)
    .leftJoin(members, creatorOn)
    .leftJoin(roles, creatorRoleOn)
    .where(and(eq(actions.workspaceId, workspaceId), isNull(actions.pausedAt)));
  const all: Active[] = rows.map(({ action, creator }) => ({ ...action, refusal: runRefusal(action, creator) }));
  if (all.length === 0) return false;
  const paused = new Set<string>();
  const [stored] = await db.select().from(actionCursors).where(eq(actionCursors.workspaceId, workspaceId));
  let cursor = Math.max(stored?.seq ?? 0, Math.min(...all.map((a) => a.afterSeq)));
  let appended = false;
  for (;;) {
    const page = await db
      .select({ seq: events.seq, type: events.type, at: events.at, data: sql<string>`${events.data}` })
      .from(events)
      .where(and(eq(events.workspaceId, workspaceId), sql`${events.seq} > ${cursor}`))
      .orderBy(events.seq)
      .limit(PAGE);
    for (const event of page) {
      for (const action of all) {
        if (triggerMatches(action.trigger, event.type) && event.seq > action.afterSeq && !paused.has(action.id)) {
          appended = (await runOne(env, db, action, event, paused)) || appended;
        }
      }
    }
    const last = page.at(-1);
    if (!last) break;
    cursor = last.seq;
    await db
      .insert(actionCursors)
      .values({ workspaceId, seq: cursor })
      .onConflictDoUpdate({ target: actionCursors.workspaceId, set: { seq: cursor } });
    if (page.length < PAGE) break;
  }
  return appended;
}

/** Whether the action applies to the event, and then its run (or its pause). */
async function runOne(env: Env, db: Db, action: Active, event: LoggedEvent, paused: Set<string>): Promise<boolean> {
  const data = JSON.parse(event.data) as EventData;
  const cause = data.causedBy;
  if (cause && (cause.action === action.id || cause.depth >= MAX_CHAIN)) return false;
  if (action.refusal !== null) {
    paused.add(action.id);
    return pause(db, action, event, action.refusal);
  }
  const subject = data.member ?? data.joinRequest;
  let refused: string | null = null;
  if (action.condition) {
    const member = celPerson(subject ?? { id: "", name: "" });
    const context = { member, event: { type: event.type, seq: BigInt(event.seq), at: event.at, data } };
    let outcome: Outcome;
    try {
      outcome = evaluateOutcome(compile(action.condition, "action"), context);
    } catch (err) {
      // A saved condition that no longer compiles (limits tightened since) does not run.
      outcome = {
        ok: false,
        reason: err instanceof CelError ? `The condition is no longer valid: ${err.message}` : String(err),
      };
    }
    if (!outcome.ok) refused = outcome.reason;
    else if (!outcome.value) return false;
  }
  const at = now();
  const run = newRun(action, event, at);
  if (refused !== null) {
    // Recorded as failed, with why, so the delivery log shows the action did not run.
    const attempt: Attempt = { at, status: null, error: refused, durationMs: 0 };
    await db
      .insert(actionRuns)
      .values({ ...run, status: "failed", attempts: [attempt] })
      .onConflictDoNothing();
    return false;
  }
  const spec = action.action;
  if (spec.type === "label") {
    return applyLabels(db, action, run, subject?.id, spec, (cause?.depth ?? 0) + 1);
  }
  // Webhooks, emails and SMS go through the queue, which retries them (./webhooks.ts).
  const [inserted] = await db
    .insert(actionRuns)
    .values({ ...run, dueAt: at })
    .onConflictDoNothing()
    .returning({ id: actionRuns.id });
  if (inserted) {
    await enqueueRuns(env, action.workspaceId, [run.id]);
    return false;
  }
  // Recorded by an earlier pass that may have stopped before enqueueing it (a crash, an
  // eviction): enqueue it again while it is still due. A second message for a run is
  // harmless, the lease and the status let one attempt through at a time.
  const [recorded] = await db
    .select({ id: actionRuns.id })
    .from(actionRuns)
    .where(
      and(
        eq(actionRuns.actionId, action.id),
        eq(actionRuns.seq, event.seq),
        eq(actionRuns.status, "pending"),
        lte(actionRuns.dueAt, at),
      ),
    );
  if (recorded) await enqueueRuns(env, action.workspaceId, [recorded.id]);
  return false;
}

function newRun(action: ActionRow, event: LoggedEvent, at: string) {
  return {
    id: newId("msg"),
    workspaceId: action.workspaceId,
    actionId: action.id,
    seq: event.seq,
    eventType: event.type,
    status: "pending" as const,
    attempts: [],
    createdAt: at,
    updatedAt: at,
  };
}

/**
 * Pauses the action at this event, in one batch with a run that shows why (its delivery
 * log's newest entry): both are written once however often the step is repeated.
 * Answers whether it appended `action.paused`.
 */
async function pause(db: Db, action: ActionRow, event: LoggedEvent, reason: string): Promise<boolean> {
  const at = now();
  const attempt: Attempt = { at, status: null, error: reason, durationMs: 0 };
  const [paused] = await db.batch([
    ...pauseStatements(db, action, reason, at),
    db
      .insert(actionRuns)
      .values({ ...newRun(action, event, at), status: "paused", attempts: [attempt] })
      .onConflictDoNothing(),
  ]);
  return paused.meta.changes > 0;
}

/**
 * Adds and removes labels in one batch with the run's record: every statement runs only
 * while the run is pending (so a repeated step changes nothing), and the events carry
 * the action as their cause, which the loop protection above reads.
 */
function applyLabels(
  db: Db,
  action: ActionRow,
  run: typeof actionRuns.$inferInsert,
  memberId: string | undefined,
  spec: { add: string[]; remove: string[] },
  depth: number,
): Promise<boolean> {
  // Its events (and the labels it creates) name the action as their actor.
  const actor = { type: "action", id: action.id, name: action.name } as const;
  return actingAs(actor, () => labelAsAction(db, action, run, memberId, spec, depth));
}

async function labelAsAction(
  db: Db,
  action: ActionRow,
  run: typeof actionRuns.$inferInsert,
  memberId: string | undefined,
  spec: { add: string[]; remove: string[] },
  depth: number,
): Promise<boolean> {
  if (!memberId) return false;
  const ws = action.workspaceId;
  const runId = run.id as string;
  const pending = sql`exists (select 1 from ${actionRuns} where ${actionRuns.id} = ${runId} and ${actionRuns.status} = 'pending')`;
  const byId = and(eq(members.workspaceId, ws), eq(members.id, memberId));
  const from = sql`${members} where ${members.id} = ${memberId}`;
  const cause = sql`'causedBy', json_object('action', ${action.id}, 'depth', ${depth})`;
  const added = JSON.stringify([...new Set(spec.add)].sort());
  const removed = JSON.stringify([...new Set(spec.remove)].sort());
  const attempt: Attempt = { at: now(), status: null, error: null, durationMs: 0 };
  const ensure = ensureLabels(db, ws, spec.add, pending);
  const batch = db.batch([
    db.insert(actionRuns).values(run).onConflictDoNothing(),
    ...ensure,
    db
      .update(members)
      .set({
        labels: labelsWith(added),
        updatedAt: now(),
      })
      .where(and(byId, pending, lacksSomeOf(added))),
    appendEvent(
      db,
      ws,
      "member.labeled",
      sql`json_object('member', json(${memberJson}), 'labels', json(${added}), ${cause})`,
      {
        from,
        onlyIfChanged: true,
      },
    ),
    db
      .update(members)
      .set({
        labels: sql`(select json_group_array(value) from json_each(${members.labels})
          where value not in (select value from json_each(${removed})))`,
        updatedAt: now(),
      })
      .where(
        and(
          byId,
          pending,
          sql`exists (select 1 from json_each(${members.labels}) where value in (select value from json_each(${removed})))`,
        ),
      ),
    appendEvent(
      db,
      ws,
      "member.unlabeled",
      sql`json_object('member', json(${memberJson}), 'labels', json(${removed}), ${cause})`,
      {
        from,
        onlyIfChanged: true,
      },
    ),
    db
      .update(actionRuns)
      .set({ status: "succeeded", attempts: [attempt], updatedAt: now() })
      .where(and(eq(actionRuns.id, runId), eq(actionRuns.status, "pending"))),
  ]);
  const results = await batch.catch(async (err: unknown) => {
    const refusal = labelDeletingRefusal(err);
    if (!refusal) throw err;
    // A label it adds is being deleted (worker/labels/guard.ts): the run fails, with why, as a refused one does.
    const failed: Attempt = { ...attempt, error: `${refusal.message} (${spec.add.join(", ")})` };
    await db
      .insert(actionRuns)
      .values({ ...run, status: "failed", attempts: [failed] })
      .onConflictDoNothing();
    return null;
  });
  if (!results) return false;
  const changes = (i: number) => (results[i] as { meta: { changes: number } }).meta.changes;
  const n = ensure.length;
  return changes(2 + n) > 0 || changes(4 + n) > 0;
}
