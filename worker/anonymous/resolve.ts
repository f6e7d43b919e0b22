import { and, count, eq, inArray, max, min, type SQL, sql } from "drizzle-orm";
import { actingAs } from "../events/acting";
import { appendEvent, now } from "../events/append";
import type { Actor } from "../events/schema";
import type { Db } from "../lib/db";
import { database } from "../lib/db";
import type { ErrorCode } from "../lib/error-codes";
import { newId } from "../lib/ids";
import { memberJson, parseMember } from "../members/json";
import type { Member } from "../members/schema";
import { type MemberRow, type MemberStatus, members } from "../members/table";
import {
  conditionRefusal,
  guardStaysInReach,
  memberInReach,
  type Reach,
  type ReachData,
  reachable,
  reachFrom,
} from "../reach/reach";
import { memberEventData } from "./json";
import { anonymousResolutions, memberIdentities, messages } from "./table";

type CommandBase = {
  workspaceId: string;
  sourceId: string;
  actorId: string;
  /** Who asks (worker/events/actor.ts): RPC does not carry the request's actor into the object. */
  actor: Actor;
  /** The caller's role condition (worker/reach), judged on both members inside the batch. */
  reach?: ReachData;
};

/** What the workspace's Durable Object is asked to do, one at a time. */
export type ResolutionCommand = (CommandBase & { kind: "merge"; targetId: string }) | (CommandBase & { kind: "undo" });

/** Plain data, so it crosses RPC intact (an Error subclass would arrive as a bare Error). */
export type ResolutionResult =
  | { ok: true; member: Member; moved: number }
  | { ok: false; code: ErrorCode; message: string };

type Refusal = Extract<ResolutionResult, { ok: false }>;
const refuse = (code: ErrorCode, message: string): Refusal => ({ ok: false, code, message });

/** Members a history may be merged into: real people, not archived, anonymous, merged or expired. */
const TARGET_STATUSES: MemberStatus[] = ["active", "invited"];

async function loadPair(db: Db, workspaceId: string, sourceId: string, targetId: string) {
  const rows = await db
    .select()
    .from(members)
    .where(and(eq(members.workspaceId, workspaceId), inArray(members.id, [sourceId, targetId])));
  return { source: rows.find((m) => m.id === sourceId), target: rows.find((m) => m.id === targetId) };
}

/** Why `source` cannot be resolved into `target`, or null when it can. */
export function mergeRefusal(source: MemberRow | undefined, target: MemberRow | undefined): Refusal | null {
  if (!source) return refuse("not_found", "No such member.");
  if (source.status !== "anonymous") {
    return refuse("not_anonymous", `Only anonymous members can be resolved; this one is ${source.status}.`);
  }
  if (!target) return refuse("not_found", "No such target member.");
  if (target.id === source.id) return refuse("same_member", "A member cannot be resolved into itself.");
  if (!TARGET_STATUSES.includes(target.status)) {
    return refuse("invalid_target", `The target is ${target.status}: resolve into an active or invited member.`);
  }
  return null;
}

/** What a merge would move: the anonymous member's whole history. */
export async function previewMerge(db: Db, workspaceId: string, sourceId: string, targetId: string) {
  const { source, target } = await loadPair(db, workspaceId, sourceId, targetId);
  const refusal = mergeRefusal(source, target);
  if (refusal) return refusal;
  const [history] = await db
    .select({ count: count(), firstAt: min(messages.at), lastAt: max(messages.at) })
    .from(messages)
    .where(eq(messages.memberId, sourceId));
  const [targetHistory] = await db.select({ count: count() }).from(messages).where(eq(messages.memberId, targetId));
  const [resolution] = await db
    .select({ identifier: anonymousResolutions.identifier })
    .from(anonymousResolutions)
    .where(eq(anonymousResolutions.memberId, sourceId));
  return {
    ok: true as const,
    preview: {
      source: await memberById(db, sourceId),
      target: await memberById(db, targetId),
      identifier: resolution?.identifier ?? source?.phone ?? null,
      messages: { count: history?.count ?? 0, firstAt: history?.firstAt ?? null, lastAt: history?.lastAt ?? null },
      targetMessagesAfter: (targetHistory?.count ?? 0) + (history?.count ?? 0),
    },
  };
}

async function memberById(db: Db, id: string): Promise<Member> {
  const [row] = await db.select({ json: memberJson }).from(members).where(eq(members.id, id));
  if (!row) throw new Error("member vanished");
  return parseMember(row.json);
}

/**
 * Resolves an anonymous member into a real one in ONE batch. The first statement claims
 * the resolution record with a fresh merge id, and only if both members are still as
 * checked; every later statement runs only where that id is set, so a merge that lost a
 * race writes nothing. Moved messages carry the merge id, which is what undo moves back.
 */
async function merge(db: Db, cmd: Extract<ResolutionCommand, { kind: "merge" }>): Promise<ResolutionResult> {
  const { workspaceId: ws, sourceId, targetId } = cmd;
  const { source, target } = await loadPair(db, ws, sourceId, targetId);
  const refusal = mergeRefusal(source, target);
  if (refusal || !source) return refusal ?? refuse("not_found", "No such member.");
  const mergeId = newId("mrg");
  const at = now();
  const claimed = claimedBy(sourceId, mergeId);
  // Under a role condition both members must be in reach as the batch finds them, and the
  // source as it leaves it (guardStaysInReach).
  const reach = reachFrom(cmd.reach ?? null);
  const bothReached = bothInReach(reach, sourceId, targetId);
  const batch = db.batch([
    db
      .update(anonymousResolutions)
      .set({ status: "resolved", resolvedInto: targetId, resolvedBy: cmd.actorId, resolvedAt: at, mergeId })
      .where(
        and(
          eq(anonymousResolutions.memberId, sourceId),
          eq(anonymousResolutions.workspaceId, ws),
          eq(anonymousResolutions.status, "pending"),
          sql`exists (select 1 from ${members} where ${members.id} = ${sourceId} and ${members.status} = 'anonymous')`,
          sql`exists (select 1 from ${members} where ${members.id} = ${targetId} and ${members.workspaceId} = ${ws}
            and ${inArray(members.status, TARGET_STATUSES)})`,
          bothReached,
        ),
      ),
    db
      .update(members)
      .set({ status: "merged", updatedAt: at })
      .where(and(eq(members.id, sourceId), claimed)),
    db
      .update(messages)
      .set({ memberId: targetId, movedBy: mergeId })
      .where(and(eq(messages.memberId, sourceId), claimed)),
    // Later messages from the number go to the target (see ./ingest.ts).
    db
      .update(memberIdentities)
      .set({ memberId: targetId })
      .where(and(eq(memberIdentities.memberId, sourceId), claimed)),
    appendEvent(
      db,
      ws,
      "member.merged",
      memberEventData(
        sql`, 'into', (select json(${memberJson}) from ${members} where ${members.id} = ${targetId}),
          'moved', (select count(*) from ${messages} where ${messages.movedBy} = ${mergeId})`,
      ),
      { from: sql`${members} where ${members.id} = ${sourceId} and ${claimed}` },
    ),
    ...guardStaysInReach(db, reach, sourceId),
    db.select({ moved: count() }).from(messages).where(eq(messages.movedBy, mergeId)),
    reachedRow(db, bothReached),
  ]);
  const results = await refusedByGuard(batch);
  if ("ok" in results) return results;
  const [moved] = results[results.length - 2] as { moved: number }[];
  if (results[0].meta.changes === 0) return unclaimed(results[results.length - 1] as Reached);
  return { ok: true, member: await memberById(db, targetId), moved: moved?.moved ?? 0 };
}

/**
 * Undoes the last merge: the messages it moved (exactly those) go back, the number
 * leads to the anonymous member again, which is pending again. Messages that went to the
 * target after the merge stay with it. One batch, claimed like a merge: its first
 * statement swaps the merge id on the resolution for the undo's own, only while the merge
 * is still the last one and both members are in the caller's reach; every later statement
 * runs only where the undo's id is set, and the last clears it.
 */
async function undo(db: Db, cmd: Extract<ResolutionCommand, { kind: "undo" }>): Promise<ResolutionResult> {
  const { workspaceId: ws, sourceId } = cmd;
  const [row] = await db
    .select({ member: members, resolution: anonymousResolutions })
    .from(members)
    .leftJoin(anonymousResolutions, eq(anonymousResolutions.memberId, members.id))
    .where(and(eq(members.workspaceId, ws), eq(members.id, sourceId)));
  if (!row) return refuse("not_found", "No such member.");
  const resolution = row.resolution;
  if (
    row.member.status !== "merged" ||
    resolution?.status !== "resolved" ||
    !resolution.mergeId ||
    !resolution.resolvedInto
  ) {
    return refuse("not_merged", "Only a merged anonymous member can be restored.");
  }
  const { mergeId, resolvedInto } = resolution;
  const undoId = newId("und");
  const at = now();
  // As for a merge: both members in reach as the batch finds them, the source as it leaves it.
  const reach = reachFrom(cmd.reach ?? null);
  const bothReached = bothInReach(reach, sourceId, resolvedInto);
  const claimed = claimedBy(sourceId, undoId);
  const batch = db.batch([
    db
      .update(anonymousResolutions)
      .set({ mergeId: undoId })
      .where(and(eq(anonymousResolutions.memberId, sourceId), eq(anonymousResolutions.mergeId, mergeId), bothReached)),
    db
      .update(messages)
      .set({ memberId: sourceId, movedBy: null })
      .where(and(eq(messages.movedBy, mergeId), claimed)),
    db
      .update(memberIdentities)
      .set({ memberId: sourceId })
      .where(and(eq(memberIdentities.workspaceId, ws), eq(memberIdentities.phone, resolution.identifier), claimed)),
    db
      .update(members)
      .set({ status: "anonymous", updatedAt: at })
      .where(and(eq(members.id, sourceId), eq(members.status, "merged"), claimed)),
    appendEvent(
      db,
      ws,
      "member.unmerged",
      // `into` carries the member named by `from` whole, so the live stream can judge it.
      memberEventData(
        sql`, 'from', ${resolvedInto}, 'undoneBy', ${cmd.actorId},
          'into', (select json(${memberJson}) from ${members} where ${members.id} = ${resolvedInto})`,
      ),
      { from: sql`${members} where ${members.id} = ${sourceId} and ${claimed}`, onlyIfChanged: true },
    ),
    ...guardStaysInReach(db, reach, sourceId),
    db
      .update(anonymousResolutions)
      .set({ status: "pending", resolvedInto: null, resolvedBy: null, resolvedAt: null, mergeId: null })
      .where(and(eq(anonymousResolutions.memberId, sourceId), eq(anonymousResolutions.mergeId, undoId))),
    reachedRow(db, bothReached),
  ]);
  const results = await refusedByGuard(batch);
  if ("ok" in results) return results;
  if (results[0].meta.changes === 0) return unclaimed(results[results.length - 1] as Reached);
  return { ok: true, member: await memberById(db, sourceId), moved: results[1].meta.changes };
}

/**
 * Under a role condition, SQL for both members being in the caller's reach as a batch finds
 * them (a check before the batch could lose a race with a change hiding one); undefined
 * without one. A claim holding it holds the condition twice, the widest statement
 * MAX_CONDITION_VALUES (worker/reach/to-sql.ts) allows for.
 */
function bothInReach(reach: Reach, a: string, b: string): SQL | undefined {
  const aWithin = reachable(reach, a);
  const bWithin = reachable(reach, b);
  return aWithin && bWithin && and(memberInReach(aWithin, a), memberInReach(bWithin, b));
}

/** A resolution's batch; the 403 when its `guardStaysInReach` stopped it (nothing was written). */
async function refusedByGuard<T>(batch: Promise<T>): Promise<T | Refusal> {
  try {
    return await batch;
  } catch (err) {
    const refused = conditionRefusal(err);
    if (refused) return refuse(refused.code, refused.message);
    throw err;
  }
}

/** SQL: the source's resolution carries the claim id of this batch's first statement. */
const claimedBy = (sourceId: string, claimId: string) => sql`exists (select 1 from ${anonymousResolutions}
  where ${anonymousResolutions.memberId} = ${sourceId} and ${anonymousResolutions.mergeId} = ${claimId})`;

type Reached = { inReach: number }[];

/** A batch's last statement: whether both members were in reach, for when its claim changed nothing. */
const reachedRow = (db: Db, bothReached: SQL | undefined) =>
  db.select({ inReach: sql<number>`${bothReached ?? sql`1`}` }).from(sql`(select 1)`);

/** Why a claim changed nothing: a member out of the caller's reach (as if absent), or a lost race. */
function unclaimed([row]: Reached): Refusal {
  if (!row?.inReach) return refuse("not_found", "No such member.");
  return refuse("conflict", "The member changed meanwhile; look again and retry.");
}

/**
 * Runs resolution commands of a workspace one after another. Called by the workspace's
 * Durable Object; a Durable Object still interleaves requests while one awaits D1, so
 * the order is kept here (per workspace: several objects may share an isolate).
 */
const queues = new Map<string, Promise<unknown>>();

export function runResolution(d1: D1Database, cmd: ResolutionCommand): Promise<ResolutionResult> {
  const db = database(d1);
  const previous = queues.get(cmd.workspaceId) ?? Promise.resolve();
  const run = previous.then(() => actingAs(cmd.actor, () => (cmd.kind === "merge" ? merge(db, cmd) : undo(db, cmd))));
  const settled = run.catch(() => undefined);
  queues.set(cmd.workspaceId, settled);
  settled.then(() => {
    if (queues.get(cmd.workspaceId) === settled) queues.delete(cmd.workspaceId);
  });
  return run;
}
