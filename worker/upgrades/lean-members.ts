/**
 * The online upgrade to the lean member layout (migrations/0017_lean-members.sql), in
 * bounded steps that any invocation may take, each one D1 batch going on from the state
 * the last one stored:
 * - copy-members, copy-events: the old tables' rows into the new ones, in key order, a
 *   bounded number a batch (INSERT OR IGNORE: a step repeated after a crash changes
 *   nothing; writes meanwhile reach the new tables through the mirror triggers);
 * - swap: one batch drops the mirror triggers and the old index triggers and renames the
 *   tables, so the new ones are `members` and `events`;
 * - cleanup: the old tables are emptied a bounded batch at a time and dropped when empty
 *   (dropping a full one would hold the database for as long as it has pages); the old
 *   index tables, which lists that read the upgrade's state just before the swap may still
 *   read, only after GRACE_MS.
 */
/** Its row in schema_upgrades. */
export const LEAN_MEMBERS = "lean-members";

export type Phase = "copy-members" | "copy-events" | "swap" | "cleanup" | "done";
export type UpgradeState = { phase: Phase; cursor: string; cursorSeq: number; copied: number };
/** What one step did: the rows it copied or deleted, and D1's time for them. */
export type StepResult = { rows: number; durationMs: number };

const GRACE_MS = 60_000;

const MEMBER_COLUMNS =
  "id, workspace_id, name, email, phone, phone_national, external_id, description, role, type, status, labels, created_at, updated_at";
const EVENT_COLUMNS = "workspace_id, seq, type, at, data";

/** The old tables, emptied in this order: `key` names a row (rowid, or a WITHOUT ROWID table's primary key). */
export const OLD_TABLES = [
  { name: "members_old", key: "rowid" },
  { name: "events_old", key: "rowid" },
  { name: "member_labels", key: "workspace_id, label, status, member_id" },
  { name: "member_label_pairs", key: "workspace_id, label, other, status, member_id" },
  { name: "member_search", key: "workspace_id, status, lcp, term, member_id" },
] as const;

/** The triggers of the old layout, dropped by the swap; `members_end_sessions` comes back on the new table. */
const OLD_TRIGGERS = [
  "members_mirror_insert",
  "members_mirror_update",
  "members_mirror_delete",
  "events_mirror_insert",
  "members_index_insert",
  "members_index_update",
  "members_end_sessions",
];

/** As migrations/0002_invitations.sql made it: archiving (any move away from active) ends the member's sessions. */
const END_SESSIONS = `CREATE TRIGGER members_end_sessions AFTER UPDATE OF status ON members
  WHEN OLD.status = 'active' AND NEW.status != 'active' BEGIN
  UPDATE sessions SET ended_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
    WHERE member_id = NEW.id AND ended_at IS NULL;
END`;

/**
 * The swap's DDL, in order. migrations/0022_member-attributes.sql added `attributes` to the
 * old table only (the new one may be gone by then): the new one takes it here, with the
 * attributes written before the swap (the mirror triggers predate the column). Only
 * members holding some are read.
 */
const SWAP = [
  ...OLD_TRIGGERS.map((name) => `DROP TRIGGER ${name}`),
  "ALTER TABLE members_next ADD attributes text",
  "ALTER TABLE members RENAME TO members_old",
  "ALTER TABLE members_next RENAME TO members",
  `UPDATE members SET attributes = (SELECT o.attributes FROM members_old o WHERE o.id = members.id)
    WHERE id IN (SELECT id FROM members_old WHERE attributes IS NOT NULL)`,
  // migrations/0023 gave `events` its actor after 0017 made events_next without one; events
  // copied before the swap keep the default, `system`.
  `ALTER TABLE events_next ADD COLUMN actor text DEFAULT '{"type":"system"}' NOT NULL`,
  "ALTER TABLE events RENAME TO events_old",
  "ALTER TABLE events_next RENAME TO events",
  END_SESSIONS,
];

export type TriggerDefinition = { name: string; sql: string };

/**
 * Triggers that later migrations made on `members` or `events` (the move triggers of
 * migrations/0021_move-capture.sql): a table's triggers go with it when it is renamed, so
 * the swap drops them from the old tables and makes them again, as written, on the new.
 */
export const FOLLOWING_TRIGGERS = `select name, sql from sqlite_master
  where type = 'trigger' and tbl_name in ('members', 'events') and name not in (${OLD_TRIGGERS.map((n) => `'${n}'`).join(", ")})`;

/**
 * The swap's DDL, in order, given the triggers FOLLOWING_TRIGGERS found (also for
 * bench/import-floors.mjs, which upgrades an empty database so).
 */
export function swapStatements(following: readonly TriggerDefinition[]): string[] {
  return [...following.map((t) => `DROP TRIGGER ${t.name}`), ...SWAP, ...following.map((t) => t.sql)];
}

export async function readState(d1: D1Database): Promise<UpgradeState | null> {
  try {
    return await d1
      .prepare("select phase, cursor, cursor_seq as cursorSeq, copied from schema_upgrades where name = ?1")
      .bind(LEAN_MEMBERS)
      .first<UpgradeState>();
  } catch {
    // No schema_upgrades table: the migration has not run yet.
    return null;
  }
}

/** One bounded step of the upgrade from `state`, of about `size` rows. */
export function step(d1: D1Database, state: UpgradeState, size: number, now = Date.now()): Promise<StepResult> {
  switch (state.phase) {
    case "copy-members":
      return copyMembers(d1, state, size);
    case "copy-events":
      return copyEvents(d1, state, size);
    case "swap":
      return swap(d1, now);
    case "cleanup":
      return cleanup(d1, state, size, now);
    case "done":
      return Promise.resolve({ rows: 0, durationMs: 0 });
  }
}

/** Moves the stored state on, only from where this step found it (a concurrent step may have moved it first). */
function advance(d1: D1Database, from: UpgradeState, to: Partial<UpgradeState>, counted = "0") {
  return d1
    .prepare(
      `update schema_upgrades set phase = ?2, cursor = ?3, cursor_seq = ?4, copied = copied + ${counted},
         updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
       where name = ?1 and phase = ?5 and cursor = ?6 and cursor_seq = ?7`,
    )
    .bind(
      LEAN_MEMBERS,
      to.phase ?? from.phase,
      to.cursor ?? from.cursor,
      to.cursorSeq ?? from.cursorSeq,
      from.phase,
      from.cursor,
      from.cursorSeq,
    );
}

const took = (results: D1Result[]): StepResult => ({
  rows: results[0]?.meta.changes ?? 0,
  durationMs: results.reduce((sum, r) => sum + (r.meta.duration ?? 0), 0),
});

async function copyMembers(d1: D1Database, state: UpgradeState, size: number): Promise<StepResult> {
  const last = await d1
    .prepare("select id from members where id > ?1 order by id limit 1 offset ?2")
    .bind(state.cursor, size - 1)
    .first<{ id: string }>();
  const copy = last
    ? d1
        .prepare(
          `insert or ignore into members_next (${MEMBER_COLUMNS}) select ${MEMBER_COLUMNS} from members where id > ?1 and id <= ?2`,
        )
        .bind(state.cursor, last.id)
    : d1
        .prepare(
          `insert or ignore into members_next (${MEMBER_COLUMNS}) select ${MEMBER_COLUMNS} from members where id > ?1`,
        )
        .bind(state.cursor);
  const next = last ? { cursor: last.id } : { phase: "copy-events" as const, cursor: "", cursorSeq: 0 };
  return took(await d1.batch([copy, advance(d1, state, next, "changes()")]));
}

async function copyEvents(d1: D1Database, state: UpgradeState, size: number): Promise<StepResult> {
  const from = [state.cursor, state.cursorSeq];
  const last = await d1
    .prepare(
      "select workspace_id as ws, seq from events where (workspace_id, seq) > (?1, ?2) order by workspace_id, seq limit 1 offset ?3",
    )
    .bind(...from, size - 1)
    .first<{ ws: string; seq: number }>();
  const select = `select ${EVENT_COLUMNS} from events where (workspace_id, seq) > (?1, ?2)`;
  const copy = last
    ? d1
        .prepare(`insert or ignore into events_next (${EVENT_COLUMNS}) ${select} and (workspace_id, seq) <= (?3, ?4)`)
        .bind(...from, last.ws, last.seq)
    : d1.prepare(`insert or ignore into events_next (${EVENT_COLUMNS}) ${select}`).bind(...from);
  const next = last ? { cursor: last.ws, cursorSeq: last.seq } : { phase: "swap" as const, cursor: "", cursorSeq: 0 };
  return took(await d1.batch([copy, advance(d1, state, next, "changes()")]));
}

/**
 * Every row is in the new tables (copied, or written there by the mirror triggers), so
 * one batch makes them the live ones. A second swap fails on its first DROP TRIGGER and
 * changes nothing. The cleanup's grace starts now (kept in `cursorSeq`).
 */
async function swap(d1: D1Database, now: number): Promise<StepResult> {
  const { results: following } = await d1.prepare(FOLLOWING_TRIGGERS).all<TriggerDefinition>();
  const statements = swapStatements(following).map((text) => d1.prepare(text));
  const state = { phase: "swap", cursor: "", cursorSeq: 0, copied: 0 } as const;
  const results = await d1.batch([
    ...statements,
    advance(d1, state, { phase: "cleanup", cursor: OLD_TABLES[0].name, cursorSeq: now }),
  ]);
  return { rows: 0, durationMs: took(results).durationMs };
}

async function cleanup(d1: D1Database, state: UpgradeState, size: number, now: number): Promise<StepResult> {
  const index = OLD_TABLES.findIndex((t) => t.name === state.cursor);
  const table = OLD_TABLES[index];
  if (!table) return { rows: 0, durationMs: 0 };
  // The old index tables may still be read by a list that saw the state before the swap.
  if (index >= 2 && now < state.cursorSeq + GRACE_MS) return { rows: 0, durationMs: 0 };
  const keys = table.key.includes(",") ? `(${table.key})` : table.key;
  const deleted = await d1
    .prepare(`delete from ${table.name} where ${keys} in (select ${table.key} from ${table.name} limit ?1)`)
    .bind(size)
    .run();
  const rows = deleted.meta.changes ?? 0;
  if (rows >= size) return { rows, durationMs: deleted.meta.duration ?? 0 };
  const following = OLD_TABLES[index + 1];
  const next = following ? { cursor: following.name } : { phase: "done" as const, cursor: "" };
  const results = await d1.batch([d1.prepare(`DROP TABLE ${table.name}`), advance(d1, state, next)]);
  return { rows, durationMs: (deleted.meta.duration ?? 0) + took(results).durationMs };
}
