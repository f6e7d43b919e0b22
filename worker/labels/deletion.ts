import { and, eq, isNotNull, type SQL, sql } from "drizzle-orm";
import { currentActorJson } from "../events/acting";
import { appendEvent } from "../events/append";
import { events } from "../events/table";
import { BatchSizer, boundsFrom, giveWay, logBatch, type SizeBounds } from "../lib/bounded";
import type { Db } from "../lib/db";
import { holdersOf, labelIndex } from "../members/holders";
import { memberJson } from "../members/json";
import { labelsWithout } from "../members/label-sql";
import { members } from "../members/table";
import { type Reach, reachableRows } from "../reach/reach";
import { reachGuard } from "../reach/table";
import { labels } from "./table";

/**
 * Deleting a label is bounded work however many members hold it: DELETE /v1/labels/{slug}
 * marks the label (`deletingSince`: gone to GET /v1/labels, and no write may name it,
 * ./guard.ts) and appends label.deleted; then batches take it from its holders, each one
 * D1 transaction sized toward 50 ms (../lib/bounded.ts) that unlabels up to n holders
 * with one member.unlabeled each (consecutive seqs, in member order, each with the member
 * as the batch leaves it). A batch picks members that hold the label as it runs, so one
 * repeated after a crash, or run beside another, finds those already done gone from the
 * holders: every holder gets exactly one member.unlabeled. The batch that finds no holder
 * left deletes the label row: the deletion has finished.
 */

/** Holders per batch. Each holder costs its member row, its event and its index rows (tens of rows written). */
export const HOLDERS: SizeBounds = { min: 10, max: 2000 };
const HOLDERS_START = 100;
/** Holders read per page when judging them against a role condition: a read of as many members, a few ms. */
const JUDGE_PAGE = 1000;

/** Batch sizes learnt in this isolate: the next request or job starts from there. */
let learnt = HOLDERS_START;

/** How many members hold the label (one index range: no member row read). */
export async function countHolders(db: Db, workspaceId: string, slug: string): Promise<number> {
  const holders = await holdersOf(db, workspaceId, slug);
  const [row] = await db.all<{ n: number }>(sql`select count(*) as n from (${holders})`);
  return row?.n ?? 0;
}

/**
 * Marks the label deleted (the deletion begins) and appends label.deleted, in one batch;
 * false when there is no such label or its deletion has already begun. With `judged`
 * (a role condition's caller, see `judgeHolders`), the batch also fails (403
 * forbidden_by_condition) when a member the log changed since `judged.head` holds the
 * label and is out of reach: the judgement read holders a page at a time, and this closes
 * the gap since.
 */
export async function beginDeletion(
  db: Db,
  workspaceId: string,
  slug: string,
  at: string,
  judged?: { within: SQL; head: number },
): Promise<boolean> {
  const changedSince = judged && guardChangedHolders(db, workspaceId, slug, judged.within, judged.head);
  const [marked] = await db.batch([
    // The mark comes before the event: of two racing deletes, one appends it.
    db
      .update(labels)
      .set({ deletingSince: at })
      .where(and(eq(labels.workspaceId, workspaceId), eq(labels.slug, slug), sql`${labels.deletingSince} is null`)),
    appendEvent(db, workspaceId, "label.deleted", { slug }, { onlyIfChanged: true }),
    ...(changedSince ? [changedSince] : []),
  ]);
  return marked.meta.changes > 0;
}

/** The log's head now: `beginDeletion` looks at what changed after it. */
export async function logHead(db: Db, workspaceId: string): Promise<number> {
  const [row] = await db.all<{ head: number }>(
    sql`select coalesce(max(${events.seq}), 0) as head from ${events} where ${events.workspaceId} = ${workspaceId}`,
  );
  return row?.head ?? 0;
}

/**
 * Under a role condition the caller may delete only a label whose every holder is in
 * reach, judged when the deletion begins (the deletion changes them all). Reads holders a
 * bounded page at a time (never one long read) and answers whether all are in reach;
 * `beginDeletion` then checks the members changed since.
 */
export async function judgeHolders(db: Db, workspaceId: string, slug: string, reach: Reach): Promise<boolean> {
  const within = reachableRows(reach);
  if (!within) return true;
  let after = { status: "", id: "" };
  for (;;) {
    const t = await labelIndex(db);
    const page = await db.all<{ status: string; id: string; out: number }>(sql`
      select ${t.status} as status, ${t.memberId} as id, not ${within} as out
      from ${t} join ${members} on ${members.id} = ${t.memberId}
      where ${t.workspaceId} = ${workspaceId} and ${t.label} = ${slug}
        and (${t.status}, ${t.memberId}) > (${after.status}, ${after.id})
      order by ${t.status}, ${t.memberId} limit ${JUDGE_PAGE}`);
    if (page.some((row) => row.out)) return false;
    const last = page.at(-1);
    if (!last || page.length < JUDGE_PAGE) return true;
    after = { status: last.status, id: last.id };
  }
}

/**
 * For `beginDeletion`: trips reach_guard when a member named by an event after `head`
 * (its `member`, or a merge's `into`) holds the label and is out of reach now.
 */
function guardChangedHolders(db: Db, workspaceId: string, slug: string, within: SQL, head: number) {
  const named = sql`${members.id} in (${events.data} ->> '$.member.id', ${events.data} ->> '$.into.id')`;
  const holds = sql`exists (select 1 from json_each(${members.labels}) where value = ${slug})`;
  return db.insert(reachGuard).select(sql`select 1 where exists (
    select 1 from ${events} join ${members} on ${named}
    where ${events.workspaceId} = ${workspaceId} and ${events.seq} > ${head}
      and ${members.workspaceId} = ${workspaceId} and ${holds} and not ${within})`);
}

/**
 * One batch of a deletion under way: up to `limit` holders lose the label, each with one
 * member.unlabeled; then the label row goes if no holder is left. Answers how many were
 * unlabeled, whether the deletion has finished (or was not under way), and the results.
 */
async function unlabelBatch(db: Db, workspaceId: string, slug: string, limit: number, at: string) {
  // Picked through the index, and only if the member row holds the label as the batch runs:
  // an index read just before the upgrade's swap (worker/upgrades) may name a member that
  // lost it since, who must not be unlabeled twice.
  const holds = sql`exists (select 1 from json_each(${members.labels}) where value = ${slug})`;
  const picked = sql`${members.workspaceId} = ${workspaceId} and ${members.id} in (${await holdersOf(db, workspaceId, slug, limit)}) and ${holds}`;
  const marked = and(eq(labels.workspaceId, workspaceId), eq(labels.slug, slug), isNotNull(labels.deletingSince));
  const underway = sql`exists (select 1 from ${labels} where ${marked})`;
  const results = await db.batch([
    // Columns in the table's order: workspace_id, seq, type, at, data, actor. The member as the
    // next statement leaves it.
    db
      .insert(events)
      .select(sql`select ${workspaceId}, (select coalesce(max(${events.seq}), 0) from ${events} where ${events.workspaceId} = ${workspaceId})
          + row_number() over (order by ${members.id}), 'member.unlabeled', ${at},
        json_object('member', json_set(json(${memberJson}), '$.labels', json(${labelsWithout(slug)}),
          '$.updatedAt', ${at}), 'labels', json_array(${slug})), ${currentActorJson()}
      from ${members} where ${picked} and ${underway} order by ${members.id}`),
    db
      .update(members)
      .set({ labels: labelsWithout(slug), updatedAt: at })
      .where(and(picked, underway)),
    db.delete(labels).where(and(marked, sql`not exists (${await holdersOf(db, workspaceId, slug, 1)})`)),
    db.select({ slug: labels.slug }).from(labels).where(marked),
  ]);
  const [inserted, updated, deleted, left] = results;
  // The label row went in this batch, or in an earlier one (or was never being deleted).
  const finished = deleted.meta.changes > 0 || left.length === 0;
  return { unlabeled: inserted.meta.changes, finished, results: [inserted, updated, deleted] };
}

/**
 * Runs batches of the deletion of `slug` until it finishes, `deadline` (ms since the
 * epoch) passes or `maxBatches` ran; `afterBatch` runs after each batch that unlabeled
 * someone (to poke the live stream). Answers whether it finished.
 */
export async function continueDeletion(
  env: object,
  db: Db,
  workspaceId: string,
  slug: string,
  { deadline, maxBatches = Number.POSITIVE_INFINITY }: { deadline: number; maxBatches?: number },
  afterBatch: () => Promise<void> = async () => {},
): Promise<boolean> {
  const sizer = new BatchSizer(boundsFrom(env, HOLDERS), learnt);
  for (let n = 1; ; n++) {
    const at = new Date().toISOString();
    const size = sizer.size;
    const batch = await unlabelBatch(db, workspaceId, slug, size, at);
    const ms = sizer.record(batch.results, batch.unlabeled);
    learnt = sizer.size;
    logBatch(env, "label.deletion", { workspace: workspaceId, holders: batch.unlabeled, ms });
    if (batch.unlabeled > 0) await afterBatch();
    if (batch.finished) return true;
    if (Date.now() >= deadline || n >= maxBatches) return false;
    await giveWay();
  }
}
