import { getTableColumns, Placeholder, SQL, sql } from "drizzle-orm";
import type { SQLiteInsertValue, SQLiteTable } from "drizzle-orm/sqlite-core";
import type { Db } from "./db";

/**
 * `INSERT ... SELECT <values> WHERE <condition>`: an insert that happens only if an
 * earlier statement of the same `db.batch` did its part (D1 has no interactive
 * transactions, so a batch's later statements check what a guarded first one wrote).
 * Drizzle's insert-select names every (non-generated) column in table order; columns missing from
 * `row` get their schema default, or NULL; a value may be SQL (a subquery) or a placeholder.
 */
export function insertWhere<T extends SQLiteTable>(db: Db, table: T, row: SQLiteInsertValue<T>, condition: SQL) {
  const values = row as Record<string, unknown>;
  const selected = Object.entries(getTableColumns(table))
    .filter(([, column]) => column.generated === undefined)
    .map(([key, column]) => {
      const value = values[key] === undefined ? column.default : values[key];
      if (value === undefined || value === null) return sql`null`;
      return value instanceof SQL || value instanceof Placeholder ? value : sql`${column.mapToDriverValue(value)}`;
    });
  return db.insert(table).select(sql`select ${sql.join(selected, sql`, `)} where ${condition}`);
}
