import { and, eq, notExists, sql } from "drizzle-orm";
import { appendEvent, now } from "../events/append";
import { BatchSizer, boundsFrom, logBatch, type SizeBounds } from "../lib/bounded";
import type { Db } from "../lib/db";
import { database } from "../lib/db";
import { memberJson, parseMember } from "../members/json";
import { members } from "../members/table";
import { smsSettings } from "../sms-settings/table";
import { memberEventData } from "./json";
import { anonymousResolutions, messages } from "./table";

/**
 * The statements that expire one anonymous member: archived without merging, its
 * resolution record saying who and when. The update is guarded (still anonymous, and
 * for the scheduled job still quiet since `quietSince`), so a message or a merge that
 * wins the race leaves the member alone and appends no event.
 */
function expireStatements(db: Db, workspaceId: string, id: string, by: string, quietSince?: string) {
  const at = now();
  const expired = sql`exists (select 1 from ${members} where ${members.id} = ${id} and ${members.status} = 'expired')`;
  return [
    db
      .update(members)
      .set({ status: "expired", updatedAt: at })
      .where(
        and(
          eq(members.workspaceId, workspaceId),
          eq(members.id, id),
          eq(members.status, "anonymous"),
          quietSince === undefined
            ? undefined
            : notExists(
                db
                  .select({ one: sql`1` })
                  .from(messages)
                  .where(and(eq(messages.memberId, id), sql`${messages.at} >= ${quietSince}`)),
              ),
        ),
      ),
    appendEvent(db, workspaceId, "member.expired", memberEventData(), {
      from: sql`${members} where ${members.id} = ${id}`,
      onlyIfChanged: true,
    }),
    db
      .update(anonymousResolutions)
      .set({ status: "expired", resolvedBy: by, resolvedAt: at })
      .where(and(eq(anonymousResolutions.memberId, id), eq(anonymousResolutions.status, "pending"), expired)),
  ] as const;
}

/** POST /v1/members/{id}/expire; 409 unless the member is anonymous. */
export async function expireMember(db: Db, workspaceId: string, id: string, actorId: string) {
  const [current] = await db
    .select({ status: members.status })
    .from(members)
    .where(and(eq(members.workspaceId, workspaceId), eq(members.id, id)));
  if (!current) return null;
  const [update, , , after] = await db.batch([
    ...expireStatements(db, workspaceId, id, actorId),
    db.select({ json: memberJson }).from(members).where(eq(members.id, id)),
  ]);
  const row = after[0];
  return { changed: update.meta.changes > 0, member: row ? parseMember(row.json) : null, was: current.status };
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** Pending resolutions read a page at a time, each with whether it is due: a bounded read however many are pending. */
const PAGE = 500;
/**
 * Members expired per batch: three statements each (a guarded update, its event, the
 * resolution), a few rows written; sized toward 50 ms of D1 time (../lib/bounded.ts),
 * at most 25 (75 statements).
 */
const EXPIRED_PER_BATCH: SizeBounds = { min: 1, max: 25 };

/**
 * The scheduled job: in every workspace with an expiry setting, pending anonymous
 * members with no message for that many days (counted from their last message, or
 * their creation) expire. Each member is its own guarded change with its own event,
 * written in bounded batches of a few members.
 */
export async function expireQuietAnonymous(
  d1: D1Database,
  at = Date.now(),
  /** Told about each workspace that changed, e.g. to poke its live stream and actions. */
  changedWorkspace: (workspaceId: string) => Promise<void> = async () => {},
  /** The Worker's env: with DEBUG_METRICS=1, each batch logs its D1 time; BULK_BATCH lowers its ceiling (../lib/bounded.ts). */
  env: object = {},
  /**
   * Whether `d1` is the shard serving the workspace (worker/shards): a workspace's rows may
   * also be on another shard for a while as it moves, and only its own shard's are changed.
   */
  servedHere: (workspaceId: string) => Promise<boolean> = async () => true,
) {
  const db = database(d1);
  const workspaces = await db
    .select({ workspaceId: smsSettings.workspaceId, days: smsSettings.anonymousExpiryDays })
    .from(smsSettings)
    .where(sql`${smsSettings.anonymousExpiryDays} is not null`);
  const sizer = new BatchSizer(boundsFrom(env, EXPIRED_PER_BATCH), EXPIRED_PER_BATCH.max);
  let expired = 0;
  for (const { workspaceId, days } of workspaces) {
    if (!days || !(await servedHere(workspaceId))) continue;
    const before = expired;
    const quietSince = new Date(at - days * DAY_MS).toISOString();
    const lastActivity = sql`coalesce((select max(${messages.at}) from ${messages}
      where ${messages.memberId} = ${anonymousResolutions.memberId}), ${anonymousResolutions.createdAt})`;
    const rowid = sql<number>`${anonymousResolutions}.rowid`;
    // Pages in rowid order, which the index (workspace_id, status) keeps within a status.
    for (let after = 0; ; ) {
      const page = await db
        .select({
          rowid,
          id: anonymousResolutions.memberId,
          due: sql<number>`${members.status} = 'anonymous' and ${anonymousResolutions.createdAt} < ${quietSince}
            and ${lastActivity} < ${quietSince}`,
        })
        .from(anonymousResolutions)
        .innerJoin(members, eq(members.id, anonymousResolutions.memberId))
        .where(
          and(
            eq(anonymousResolutions.workspaceId, workspaceId),
            eq(anonymousResolutions.status, "pending"),
            sql`${rowid} > ${after}`,
          ),
        )
        .orderBy(rowid)
        .limit(PAGE);
      const due = page.filter((r) => r.due).map((r) => r.id);
      for (let i = 0; i < due.length; ) {
        const ids = due.slice(i, i + sizer.size);
        i += ids.length;
        const results = await db.batch(
          ids.flatMap((id) => expireStatements(db, workspaceId, id, "system", quietSince)) as unknown as Parameters<
            typeof db.batch
          >[0],
        );
        const ms = sizer.record(results as unknown as D1Result[], ids.length);
        // Members a message revived meanwhile are skipped by the guard.
        const changed = results.filter((_, j) => j % 3 === 0).filter((r) => (r as D1Result).meta.changes > 0).length;
        expired += changed;
        logBatch(env, "anonymous.expiry", { workspace: workspaceId, members: ids.length, ms });
      }
      const last = page.at(-1);
      if (!last || page.length < PAGE) break;
      after = last.rowid;
    }
    if (expired > before) await changedWorkspace(workspaceId);
  }
  return { expired };
}
