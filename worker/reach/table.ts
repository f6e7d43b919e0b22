import { sql } from "drizzle-orm";
import { check, integer, sqliteTable } from "drizzle-orm/sqlite-core";

/**
 * Always empty. SQLite has no RAISE outside triggers, so a write's batch ends with an
 * INSERT here that selects a row only when the caller's role condition would not reach
 * the member the write left: the CHECK refuses it, and D1 rolls the whole batch back
 * (./reach.ts turns the error into 403 `forbidden_by_condition`).
 */
export const reachGuard = sqliteTable("reach_guard", { refused: integer().notNull() }, (t) => [
  check("forbidden_by_condition", sql`${t.refused} = 0`),
]);
