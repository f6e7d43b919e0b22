import { and, eq, gt, gte, like, lt, type SQL, sql } from "drizzle-orm";
import type { EventRow } from "../../durable-objects/event-log";
import { Page } from "../../durable-objects/page";
import { watcherNow } from "../../durable-objects/watcher";
import type { Watcher } from "../../durable-objects/workspace-live";
import type { Caller } from "../app";
import type { Db } from "../lib/db";
import { forbidden, mayWatch, watcherOf } from "../live/access";
import { events } from "./table";

/** What GET /v1/events and its export filter the log by; each filter is ANDed. */
export type EventFilter = {
  /** An exact type, or a family as `member.*`. */
  type?: string;
  /** The member an event is about (its `member`). */
  member?: string;
  /** An actor's type, or `type:id`. */
  actor?: string;
  /** Seqs or times: from (inclusive) and to (exclusive). */
  fromSeq?: number;
  toSeq?: number;
  fromAt?: string;
  toAt?: string;
};

/** Rows read from D1 at a time: the log is never read whole, whatever the range. */
const READ_ROWS = 200;

/**
 * The caller as a live-stream watcher (../../durable-objects/watcher.ts), so the events API
 * withholds exactly what the live stream would: families by scope, anonymous members without
 * members:admin, members outside the role's condition. A customer, or a caller without
 * members:read or whose credential ended, is refused as the stream refuses it.
 */
export async function watcherFor(db: Db, caller: Caller): Promise<Watcher> {
  mayWatch(caller);
  const base = watcherOf(caller);
  const access = await watcherNow(db.$client, caller.workspaceId, base);
  if (access === null) throw forbidden();
  return { ...base, ...access, live: true };
}

function conditions(workspaceId: string, after: number, filter: EventFilter): SQL | undefined {
  const type = filter.type;
  const [actorType, actorId] = filter.actor ? splitActor(filter.actor) : [];
  return and(
    eq(events.workspaceId, workspaceId),
    gt(events.seq, Math.max(after, (filter.fromSeq ?? 0) - 1)),
    filter.toSeq !== undefined ? lt(events.seq, filter.toSeq) : undefined,
    filter.fromAt !== undefined ? gte(events.at, filter.fromAt) : undefined,
    filter.toAt !== undefined ? lt(events.at, filter.toAt) : undefined,
    type === undefined
      ? undefined
      : type.endsWith(".*")
        ? like(events.type, `${type.slice(0, -1)}%`)
        : eq(events.type, type),
    // The expression of the events_of_member index.
    filter.member !== undefined ? sql`json_extract(${events.data}, '$.member.id') = ${filter.member}` : undefined,
    actorType !== undefined ? sql`json_extract(${events.actor}, '$.type') = ${actorType}` : undefined,
    actorId !== undefined ? sql`json_extract(${events.actor}, '$.id') = ${actorId}` : undefined,
  );
}

/** `member` or `member:mem_1`: the actor's type, and its id when given. */
export function splitActor(actor: string): [string, string | undefined] {
  const colon = actor.indexOf(":");
  return colon < 0 ? [actor, undefined] : [actor.slice(0, colon), actor.slice(colon + 1)];
}

/**
 * The watcher's view of the log after `after`, one bounded read at a time: each read's
 * frames as the live stream would send them (JSON text), and the last seq it read (so a
 * caller can resume after it even when nothing in the read was visible). Ends at the
 * filter's end or the log's.
 */
export async function* visibleEvents(
  db: Db,
  workspaceId: string,
  watcher: Watcher,
  after: number,
  filter: EventFilter,
): AsyncGenerator<{ frames: string[]; lastSeq: number; more: boolean }> {
  let cursor = after;
  for (;;) {
    const rows: EventRow[] = await db
      .select({
        seq: events.seq,
        type: events.type,
        at: events.at,
        data: sql<string>`${events.data}`,
        actor: sql<string>`${events.actor}`,
      })
      .from(events)
      .where(conditions(workspaceId, cursor, filter))
      .orderBy(events.seq)
      .limit(READ_ROWS);
    const last = rows.at(-1);
    if (!last) return;
    const page = new Page(rows);
    await page.prepare(db.$client, workspaceId, [watcher]);
    const more = rows.length === READ_ROWS;
    yield { frames: page.framesFor(watcher, 0, rows.length), lastSeq: last.seq, more };
    if (!more) return;
    cursor = last.seq;
  }
}
