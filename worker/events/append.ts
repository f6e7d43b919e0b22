import { Placeholder, SQL, sql } from "drizzle-orm";
import type { Db } from "../lib/db";
import { currentActor } from "./acting";
import type { EventData, EventType } from "./registry";
import type { Actor } from "./schema";
import { events } from "./table";

type Options = {
  /** Rows the event's SQL `data` reads, e.g. sql`members where id = ?` (must end in a WHERE). */
  from?: SQL;
  /** Append nothing when the statement just before changed no row: the change lost a race. */
  onlyIfChanged?: boolean;
  /** The event's time, when not now: a placeholder in a statement built once (`preparedBatch` in lib/db.ts). */
  at?: Placeholder;
  /**
   * Who caused it, when not the actor of the work running now (./acting.ts): a placeholder
   * bound to the actor's JSON in a statement built once, which must not keep the first caller's.
   */
  actor?: Actor | Placeholder;
};

/**
 * Appends an event of a registered type (./registry.ts) in the same `db.batch` as the change it describes. D1 runs a batch
 * as one transaction, one at a time, so `max(seq) + 1` read inside it numbers events
 * without gaps; the primary key (workspace_id, seq) refuses a duplicate. `data` is a
 * JSON value, or SQL that builds it from rows as the batch left them, so racing
 * changes never publish a stale picture. Data given as a value must match the type's
 * schema when it compiles; SQL is checked by the tests against the same schema (not here:
 * that would read every event back, in every write).
 */
export function appendEvent<T extends EventType>(
  db: Db,
  workspaceId: string | Placeholder,
  type: T,
  data: EventData<T> | SQL,
  options: Options = {},
) {
  const json = data instanceof SQL ? data : sql`json(${JSON.stringify(data)})`;
  const seq = sql`(select coalesce(max(${events.seq}), 0) + 1 from ${events} where ${events.workspaceId} = ${workspaceId})`;
  const from = options.from ? sql` from ${options.from}` : sql``;
  const guard = options.onlyIfChanged ? sql` ${options.from ? sql`and` : sql`where`} changes() > 0` : sql``;
  const actor = options.actor ?? currentActor();
  const actorJson = actor instanceof Placeholder ? actor : JSON.stringify(actor);
  // Columns in the table's order: workspace_id, seq, type, at, data, actor.
  return db
    .insert(events)
    .select(sql`select ${workspaceId}, ${seq}, ${type}, ${options.at ?? now()}, ${json}, ${actorJson}${from}${guard}`);
}

export const now = () => new Date().toISOString();
