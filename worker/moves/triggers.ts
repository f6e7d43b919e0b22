import { WORKSPACE_MOVED } from "../lib/sqlite-errors";
import { MOVED_TABLES, type MovedTable } from "./tables";

/**
 * `moving_workspaces.frozen`: what the move triggers do with a write of the workspace's rows.
 * - capturing: the write goes through and its row's key goes into `move_changes`;
 * - frozen: the write fails with "workspace_moved", and with it the whole D1 batch;
 * - deleting: set only inside the move's own batches that delete the old copy, and set
 *   back to frozen by their last statement, so no other batch ever sees it (D1 runs one
 *   batch at a time): those deletes go through and are not recorded.
 */
export const FREEZE = { capturing: 0, frozen: 1, deleting: 2 } as const;

/** The workspace id of the row `row` (NEW or OLD) of `table`, as SQL. */
function workspaceOf(table: MovedTable, row: "NEW" | "OLD"): string {
  if (table.workspace) return `${row}."${table.workspace}"`;
  if (!table.parent) throw new Error(`${table.name} names neither its workspace nor its parent`);
  return `(SELECT workspace_id FROM ${table.parent.table} WHERE id = ${row}."${table.parent.via}")`;
}

const keyOf = (table: MovedTable, row: "NEW" | "OLD") =>
  `json_array(${table.key.map((column) => `${row}."${column}"`).join(", ")})`;

/**
 * The three triggers that make a moving workspace's writes of `table` recorded, or refused
 * once frozen (BEFORE each INSERT, UPDATE and DELETE of a row). Their WHEN reads the
 * small `moving_workspaces` by its key, so a write of a workspace that is not moving pays
 * one lookup that finds nothing; a child table without a workspace column first checks
 * that anything moves at all, before it looks its parent up. An update also records the
 * key the row had, when the update changed it. A statement that then fails (a conflict)
 * takes its records with it; a write that turns out to change nothing leaves a record
 * the drain finds already applied.
 */
export function captureTriggers(table: MovedTable): string[] {
  const ops = [
    { op: "INSERT", row: "NEW" },
    { op: "UPDATE", row: "NEW" },
    { op: "DELETE", row: "OLD" },
  ] as const;
  return ops.map(({ op, row }) => {
    const ws = workspaceOf(table, row);
    const anyMoving = table.workspace ? "" : "EXISTS (SELECT 1 FROM moving_workspaces) AND ";
    const record = (r: "NEW" | "OLD", extra = "") =>
      `SELECT workspace_id, '${table.name}', ${keyOf(table, r)} FROM moving_workspaces WHERE workspace_id = ${ws} AND frozen = ${FREEZE.capturing}${extra}`;
    const records =
      op === "UPDATE"
        ? `${record("NEW")}\n    UNION ALL ${record("OLD", ` AND ${keyOf(table, "OLD")} IS NOT ${keyOf(table, "NEW")}`)}`
        : record(row);
    return `CREATE TRIGGER move_${table.name}_${op.toLowerCase()} BEFORE ${op} ON ${table.name}
WHEN ${anyMoving}EXISTS (SELECT 1 FROM moving_workspaces WHERE workspace_id = ${ws}) BEGIN
  SELECT RAISE(ABORT, '${WORKSPACE_MOVED}') FROM moving_workspaces WHERE workspace_id = ${ws} AND frozen = ${FREEZE.frozen};
  INSERT INTO move_changes (workspace_id, tbl, key) ${records};
END`;
  });
}

/** Every moved table's triggers, as migrations/0021_move-capture.sql creates them. */
export const ALL_CAPTURE_TRIGGERS = () => MOVED_TABLES.flatMap(captureTriggers);
