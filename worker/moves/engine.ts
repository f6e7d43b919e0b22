import { BatchSizer, type SizeBounds } from "../lib/bounded";
import { LEAN_MEMBERS } from "../upgrades/lean-members";
import { checkedShapes, MoveRefused, type Shape, type Shapes } from "./shape";
import { clearConflicts, deleteKeys, jsonChunks, type Position, readByKeys, scan, upsert } from "./sql";
import { MOVED_TABLES, type MovedTable, movedTable } from "./tables";
import { FREEZE } from "./triggers";

/**
 * Moving a workspace's rows from one shard (D1 database) to another while it keeps
 * serving, in steps that are each one bounded D1 batch (sized by ../lib/bounded.ts), from
 * a cursor that is plain JSON: whoever drives the move stores it after each step, and a
 * crash between two steps resumes from the cursor stored last (a step repeated changes
 * nothing twice: copies and drains write the source's current rows, deletions delete what
 * is there).
 *
 * 1. start: the source records every change of the workspace's rows (moving_workspaces,
 *    the triggers of ./triggers.ts);
 * 2. clear-target: rows of the workspace left on the target (an old copy from when it
 *    lived there) are deleted;
 * 3. copy: every moved table's rows, in keyset order, upserted into the target;
 * 4. drain: the recorded changes, oldest first: each changed row's current state is
 *    upserted into the target, or deleted there when the source has it no more; at
 *    "caught-up" a drain step found less than a full batch;
 * 5. freeze: writes of the workspace on the source fail ("workspace_moved"); the drain
 *    goes on until nothing is left ("drained"): the target holds what the source holds;
 * 6. switch (by the caller: the directory names the target), then `switched()`;
 * 7. delete-old: after a grace period, the source's copy is deleted; the source keeps
 *    the frozen marker, so a write sent there late fails instead of landing unseen.
 * Until the switch, `rollback()` undoes a move: the source stops recording (and is
 * unfrozen), the target's partial copy is deleted.
 */
export type MovePhase =
  | "clear-target"
  | "copy"
  | "drain"
  | "caught-up"
  | "frozen"
  | "drained"
  | "delete-old"
  | "done"
  | "rollback-source"
  | "rollback-target"
  | "rolled-back";

export type MoveCursor = {
  moveId: string;
  workspaceId: string;
  phase: MovePhase;
  /** The index in MOVED_TABLES of the table being copied or deleted. */
  table: number;
  position: Position;
  /** The size of the next batch (rows or changes), following D1's time for the last ones. */
  size: number;
  /** Rows the workspace had on the source when the move started. */
  total: number;
  copied: number;
  drained: number;
  deleted: number;
  /** When the directory named the target (ms since the epoch): the old copy goes after the grace. */
  switchedAt: number | null;
};

export type Shards = { source: D1Database; target: D1Database };

export type MoveOptions = {
  bounds?: SizeBounds;
  /** How long the old copy stays after the switch (ms): longer than any isolate caches the old shard. */
  graceMs?: number;
};

const DEFAULT_BOUNDS: SizeBounds = { min: 10, max: 5000 };
/** Rows a move starts with: its batches then follow D1's time. */
const FIRST_BATCH = 100;
/** Isolates cache a workspace's shard for 5 s (worker/shards): the old copy outlives that. */
export const GRACE_MS = 30_000;
/** The JSON text one statement binds, at most (D1 takes strings of up to 2,000,000 bytes). */
const MAX_JSON_CHARS = 500_000;

const BEFORE_SWITCH = new Set<MovePhase>(["clear-target", "copy", "drain", "caught-up", "frozen", "drained"]);
const ROLLING_BACK = new Set<MovePhase>(["rollback-source", "rollback-target", "rolled-back"]);

/** Whether the shard's lean member layout is live (worker/upgrades): a move copies that layout only. */
async function assertSwapped(d1: D1Database, which: string) {
  const row = await d1
    .prepare("select phase from schema_upgrades where name = ?1")
    .bind(LEAN_MEMBERS)
    .first<{ phase: string }>();
  if (row && row.phase !== "cleanup" && row.phase !== "done") {
    throw new MoveRefused(`the ${which} shard's schema upgrade has not swapped yet (POST /v1/platform/upgrades)`);
  }
}

type Marker = { move_id: string; frozen: number };
const markerOf = (d1: D1Database, ws: string) =>
  d1.prepare("select move_id, frozen from moving_workspaces where workspace_id = ?1").bind(ws).first<Marker>();

/** Rows of the workspace in `table` on `d1`, found as a move finds them. */
function countRows(d1: D1Database, table: MovedTable, ws: string): D1PreparedStatement {
  if (!table.parent) {
    return d1.prepare(`select count(*) as n from "${table.name}" where "${table.workspace}" = ?1`).bind(ws);
  }
  return d1
    .prepare(
      `select count(*) as n from "${table.name}" where "${table.parent.via}" in (select id from "${table.parent.table}" where workspace_id = ?1)`,
    )
    .bind(ws);
}

/**
 * Starts moving `workspaceId` from `shards.source`, where it lives, to `shards.target`:
 * checks that both shards have the same schema, then marks the workspace moving on the
 * source. Repeating a start of the same move changes nothing. Refused (MoveRefused) when
 * another move of the workspace runs, or it does not live on the source.
 */
export async function startMove(
  shards: Shards,
  move: { moveId: string; workspaceId: string },
  options: MoveOptions = {},
): Promise<MoveCursor> {
  const { source, target } = shards;
  const ws = move.workspaceId;
  await assertSwapped(source, "source");
  await assertSwapped(target, "target");
  await checkedShapes(source, target);
  const [mark, targetMark, lives] = await Promise.all([
    markerOf(source, ws),
    markerOf(target, ws),
    source.prepare("select 1 as yes from workspaces where id = ?1").bind(ws).first(),
  ]);
  if (!lives || mark?.frozen === FREEZE.frozen)
    throw new MoveRefused("the workspace does not live on the source shard");
  if (mark && mark.move_id !== move.moveId) throw new MoveRefused("another move of the workspace runs");
  if (targetMark && targetMark.frozen !== FREEZE.frozen)
    throw new MoveRefused("the workspace is moving from the target");
  // An old copy's marker on the target goes (its rows go in clear-target), so that the
  // rows copied there are not refused; then the source records from here on.
  if (targetMark) {
    await target.prepare("delete from moving_workspaces where workspace_id = ?1").bind(ws).run();
  }
  await source
    .prepare("insert into moving_workspaces (workspace_id, move_id, frozen) values (?1, ?2, ?3) on conflict do nothing")
    .bind(ws, move.moveId, FREEZE.capturing)
    .run();
  const counts = await source.batch<{ n: number }>(MOVED_TABLES.map((table) => countRows(source, table, ws)));
  const total = counts.reduce((sum, count) => sum + (count.results[0]?.n ?? 0), 0);
  const bounds = options.bounds ?? DEFAULT_BOUNDS;
  return {
    moveId: move.moveId,
    workspaceId: ws,
    phase: "clear-target",
    table: MOVED_TABLES.length - 1,
    position: null,
    size: Math.max(bounds.min, Math.min(bounds.max, FIRST_BATCH)),
    total,
    copied: 0,
    drained: 0,
    deleted: 0,
    switchedAt: null,
  };
}

/** A move's steps, from its stored cursor: built again after any crash. */
export class Move {
  readonly cursor: MoveCursor;
  private readonly sizer: BatchSizer;
  private shapes: Shapes | undefined;
  private readonly graceMs: number;

  constructor(
    private readonly shards: Shards,
    cursor: MoveCursor,
    options: MoveOptions = {},
  ) {
    this.cursor = structuredClone(cursor);
    this.sizer = new BatchSizer(options.bounds ?? DEFAULT_BOUNDS, cursor.size);
    this.graceMs = options.graceMs ?? GRACE_MS;
  }

  /** Whether the move has nothing more to do: its old copy deleted, or rolled back. */
  get finished(): boolean {
    return this.cursor.phase === "done" || this.cursor.phase === "rolled-back";
  }

  /**
   * One bounded step of the phase the move is in; the cursor then says where it stands.
   * In "drained" it waits for the caller's switch; in "delete-old", for the grace (`now`).
   */
  async step(now = Date.now()): Promise<MoveCursor> {
    const c = this.cursor;
    switch (c.phase) {
      case "clear-target":
        await this.deleteStep(this.shards.target, false, "copy");
        break;
      case "copy":
        await this.copyStep();
        break;
      case "drain":
      case "caught-up": {
        const { changes, full } = await this.drainStep();
        c.drained += changes;
        c.phase = full ? "drain" : "caught-up";
        break;
      }
      case "frozen": {
        const { changes } = await this.drainStep();
        c.drained += changes;
        if (changes === 0) c.phase = "drained";
        break;
      }
      case "delete-old":
        if (c.switchedAt !== null && now >= c.switchedAt + this.graceMs) {
          await this.deleteStep(this.shards.source, true, "done");
        }
        break;
      case "rollback-source":
        await this.unmarkSourceStep();
        break;
      case "rollback-target":
        await this.deleteStep(this.shards.target, false, "rolled-back");
        break;
      case "drained":
      case "done":
      case "rolled-back":
        break;
    }
    c.size = this.sizer.size;
    return c;
  }

  /** Refuses the workspace's writes on the source from now on; the drain then takes the last changes. */
  async freeze(): Promise<MoveCursor> {
    const c = this.cursor;
    if (c.phase !== "caught-up" && c.phase !== "drain" && c.phase !== "frozen") {
      throw new Error(`a move in phase ${c.phase} cannot freeze`);
    }
    const result = await this.shards.source
      .prepare("update moving_workspaces set frozen = ?3 where workspace_id = ?1 and move_id = ?2")
      .bind(c.workspaceId, c.moveId, FREEZE.frozen)
      .run();
    if ((result.meta.changes ?? 0) === 0) throw new Error("the move's marker is gone from the source shard");
    c.phase = "frozen";
    return c;
  }

  /** After the directory names the target: the old copy goes once the grace has passed. */
  switched(now = Date.now()): MoveCursor {
    const c = this.cursor;
    if (c.phase !== "drained") throw new Error(`a move in phase ${c.phase} cannot switch`);
    c.phase = "delete-old";
    c.table = MOVED_TABLES.length - 1;
    c.position = null;
    c.switchedAt = now;
    return c;
  }

  /** Gives the move up before its switch: the source goes back to normal writes, the target's partial copy goes. */
  rollback(): MoveCursor {
    const c = this.cursor;
    if (ROLLING_BACK.has(c.phase)) return c;
    if (!BEFORE_SWITCH.has(c.phase)) throw new Error(`a move in phase ${c.phase} is past its switch`);
    c.phase = "rollback-source";
    c.table = MOVED_TABLES.length - 1;
    c.position = null;
    return c;
  }

  private async shape(table: MovedTable): Promise<Shape> {
    this.shapes ??= await checkedShapes(this.shards.source, this.shards.target);
    const shape = this.shapes.get(table.name);
    if (!shape) throw new MoveRefused(`${table.name} is missing`);
    return shape;
  }

  private async copyStep() {
    const c = this.cursor;
    const table = MOVED_TABLES[c.table];
    if (!table) {
      c.phase = "drain";
      c.position = null;
      return;
    }
    const { source, target } = this.shards;
    const shape = await this.shape(table);
    const n = this.sizer.size;
    const read = scan(source, table, shape, c.workspaceId, c.position, n, "row");
    const readResults = await source.batch<{ r: string; k: string }>(read.statements);
    const { rows, next, done } = read.next(readResults, n);
    let writeResults: D1Result[] = [];
    if (rows.length > 0) {
      const chunks = jsonChunks(rows, MAX_JSON_CHARS);
      writeResults = await target.batch([
        ...chunks.flatMap((chunk) => clearConflicts(target, table, shape, chunk, c.workspaceId)),
        ...chunks.flatMap((chunk) => upsert(target, shape, chunk)),
      ]);
    }
    this.sizer.record([...readResults, ...writeResults], rows.length);
    c.copied += rows.length;
    if (done) {
      c.table += 1;
      c.position = null;
      if (c.table >= MOVED_TABLES.length) c.phase = "drain";
    } else {
      c.position = next;
    }
  }

  /**
   * Applies the oldest recorded changes: each changed row's current state on the source
   * (read in one batch, so rows of several tables agree) is written to the target, or
   * deleted there when the source has it no more; then those records go. A crash before
   * they go makes the next step apply them again, which changes nothing.
   */
  private async drainStep(): Promise<{ changes: number; full: boolean }> {
    const c = this.cursor;
    const { source, target } = this.shards;
    const n = this.sizer.size;
    const changes = await source
      .prepare("select id, tbl, key from move_changes where workspace_id = ?1 order by id limit ?2")
      .bind(c.workspaceId, n)
      .all<{ id: number; tbl: string; key: string }>();
    const records = changes.results;
    const lastId = records.at(-1)?.id;
    if (lastId === undefined) {
      this.sizer.record([changes], 0);
      return { changes: 0, full: false };
    }
    const byTable = new Map<string, Set<string>>();
    for (const record of records) {
      const keys = byTable.get(record.tbl) ?? new Set<string>();
      keys.add(record.key);
      byTable.set(record.tbl, keys);
    }
    const tables = [...byTable.keys()].map(movedTable);
    const shapes = await Promise.all(tables.map((t) => this.shape(t)));
    const reads = await source.batch<{ r: string; k: string }>(
      shapes.map((shape) => readByKeys(source, shape, `[${[...(byTable.get(shape.name) ?? [])].join(",")}]`)),
    );
    const writes = tables.flatMap((table, i) => {
      const shape = shapes[i] as Shape;
      const found = reads[i]?.results ?? [];
      const present = new Set(found.map((row) => row.k));
      const gone = [...(byTable.get(table.name) ?? [])].filter((key) => !present.has(key));
      const chunks = jsonChunks(
        found.map((row) => row.r),
        MAX_JSON_CHARS,
      );
      return [
        ...jsonChunks(gone, MAX_JSON_CHARS).map((keys) => deleteKeys(target, shape, keys)),
        ...chunks.flatMap((chunk) => clearConflicts(target, table, shape, chunk, c.workspaceId)),
        ...chunks.flatMap((chunk) => upsert(target, shape, chunk)),
      ];
    });
    const written = writes.length > 0 ? await target.batch(writes) : [];
    const cleared = await source
      .prepare("delete from move_changes where workspace_id = ?1 and id <= ?2")
      .bind(c.workspaceId, lastId)
      .run();
    this.sizer.record([changes, ...reads, ...written, cleared], records.length);
    return { changes: records.length, full: records.length >= n };
  }

  /**
   * Deletes the next bounded batch of the workspace's rows on `d1`, tables in reverse
   * order (children before the parents they are found through), then goes to `then`.
   * On the source (`frozen`), the batch lifts its own freeze for its deletes and sets it
   * back by its last statement, unseen by any other batch.
   */
  private async deleteStep(d1: D1Database, frozen: boolean, then: MovePhase) {
    const c = this.cursor;
    const table = MOVED_TABLES[c.table];
    if (!table) {
      c.phase = then;
      c.table = 0;
      c.position = null;
      return;
    }
    const shape = await this.shape(table);
    const n = this.sizer.size;
    const read = scan(d1, table, shape, c.workspaceId, c.position, n, "key");
    const readResults = await d1.batch<{ r: string; k: string }>(read.statements);
    const { rows: keys, next, done } = read.next(readResults, n);
    let written: D1Result[] = [];
    if (keys.length > 0) {
      const deletes = jsonChunks(keys, MAX_JSON_CHARS).map((chunk) => deleteKeys(d1, shape, chunk));
      const freeze = (to: number) =>
        d1
          .prepare("update moving_workspaces set frozen = ?3 where workspace_id = ?1 and move_id = ?2")
          .bind(c.workspaceId, c.moveId, to);
      written = await d1.batch(frozen ? [freeze(FREEZE.deleting), ...deletes, freeze(FREEZE.frozen)] : deletes);
    }
    this.sizer.record([...readResults, ...written], keys.length);
    if (c.phase === "delete-old") c.deleted += keys.length;
    if (done) {
      c.table -= 1;
      c.position = null;
      if (c.table < 0) {
        c.phase = then;
        c.table = 0;
      }
    } else {
      c.position = next;
    }
  }

  /** Rollback, first on the source: no more recording (nor freeze), then its records go, a bounded batch at a time. */
  private async unmarkSourceStep() {
    const c = this.cursor;
    const { source } = this.shards;
    const n = this.sizer.size;
    const results = await source.batch([
      source
        .prepare("delete from moving_workspaces where workspace_id = ?1 and move_id = ?2")
        .bind(c.workspaceId, c.moveId),
      source
        .prepare(
          `delete from move_changes where id in (select id from move_changes where workspace_id = ?1 order by id limit ?2)
             and not exists (select 1 from moving_workspaces where workspace_id = ?1)`,
        )
        .bind(c.workspaceId, n),
    ]);
    const deleted = results[1]?.meta.changes ?? 0;
    this.sizer.record(results, deleted);
    if (deleted < n) {
      c.phase = "rollback-target";
      c.table = MOVED_TABLES.length - 1;
      c.position = null;
    }
  }
}
