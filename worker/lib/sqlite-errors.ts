/**
 * What a failed D1 statement or batch tells us, read once from SQLite's message. D1 puts
 * that message in the error (or, through drizzle, in its `cause`) as text, e.g.
 * "D1_ERROR: UNIQUE constraint failed: members.workspace_id, members.email: SQLITE_CONSTRAINT";
 * an error thrown in the workspace object reaches the Worker over RPC as a plain Error with
 * the same text. SQLite's wording is stable (https://sqlite.org/rescode.html); this is the
 * one place that reads it.
 */
export type SqliteFailure =
  /** A UNIQUE index or PRIMARY KEY refused a row; `columns` as "table.column", in the index's order. */
  | { kind: "unique"; table: string; columns: string[] }
  /** A named CHECK constraint refused a row (the guards' way to abort a batch: SQLite has no RAISE outside triggers). */
  | { kind: "check"; constraint: string }
  /** A NOT NULL column got NULL, e.g. a subquery that found nothing; `column` as "table.column". */
  | { kind: "not_null"; column: string }
  | { kind: "foreign_key" }
  /** The statement binds more values than D1 takes (100). */
  | { kind: "too_many_variables" }
  /** A string or BLOB over D1's 2,000,000 bytes. */
  | { kind: "too_big" }
  /** The database was busy or locked; worth another try. */
  | { kind: "busy" }
  /** A move trigger refused a write of a workspace that has moved to another shard (worker/moves). */
  | { kind: "moved" }
  /** Anything else, SQLite's or not. */
  | { kind: "other" };

/** An error's text with its cause's, where D1 puts the SQLite message. */
const textOf = (err: unknown) => `${err} ${err instanceof Error ? err.cause : ""}`;

/** The message of the move triggers' RAISE (worker/moves/triggers.ts). */
export const WORKSPACE_MOVED = "workspace_moved";

const UNIQUE = /UNIQUE constraint failed: ([\w.]+(?:, [\w.]+)*)/;
const CHECK = /CHECK constraint failed: (\w+)/;
const NOT_NULL = /NOT NULL constraint failed: ([\w.]+)/;

export function sqliteFailure(err: unknown): SqliteFailure {
  const text = textOf(err);
  const unique = UNIQUE.exec(text);
  if (unique?.[1]) {
    const columns = unique[1].split(", ");
    return { kind: "unique", table: columns[0]?.split(".")[0] ?? "", columns };
  }
  const check = CHECK.exec(text);
  if (check?.[1]) return { kind: "check", constraint: check[1] };
  const notNull = NOT_NULL.exec(text);
  if (notNull?.[1]) return { kind: "not_null", column: notNull[1] };
  if (text.includes("FOREIGN KEY constraint failed")) return { kind: "foreign_key" };
  if (text.includes("too many SQL variables")) return { kind: "too_many_variables" };
  if (/string or blob too big|SQLITE_TOOBIG/.test(text)) return { kind: "too_big" };
  if (/SQLITE_BUSY|database is locked/i.test(text)) return { kind: "busy" };
  if (text.includes(WORKSPACE_MOVED)) return { kind: "moved" };
  return { kind: "other" };
}

/** Whether a unique index (or primary key) of `table` refused the write; one over `column`, if given. */
export function isUniqueViolation(err: unknown, table: string, column?: string): boolean {
  const failure = sqliteFailure(err);
  if (failure.kind !== "unique" || failure.table !== table) return false;
  return column === undefined || failure.columns.includes(`${table}.${column}`);
}

/** Whether the named CHECK constraint refused the write. */
export function isCheckViolation(err: unknown, constraint: string): boolean {
  const failure = sqliteFailure(err);
  return failure.kind === "check" && failure.constraint === constraint;
}
