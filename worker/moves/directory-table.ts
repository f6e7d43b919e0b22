import { sql } from "drizzle-orm";
import { integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

export const MOVE_STATUSES = ["running", "completed", "failed"] as const;
export type MoveStatus = (typeof MOVE_STATUSES)[number];

/**
 * Moves of workspaces between shards (in the directory: a move spans two shards, and its
 * progress must outlive both the Worker and the workspace's object). The object drives
 * the move a step at a time from `cursor` (the engine's MoveCursor, JSON) and stores it
 * back after each step, so a crash resumes where it was.
 */
export const moves = sqliteTable(
  "moves",
  {
    id: text().primaryKey(),
    workspaceId: text().notNull(),
    fromShard: integer().notNull(),
    toShard: integer().notNull(),
    /** "completed" once the directory names the target; the old copy is deleted after that (`phase`). */
    status: text().$type<MoveStatus>().notNull(),
    cursor: text().notNull(),
    error: text(),
    createdAt: text().notNull(),
    updatedAt: text().notNull(),
    /** When nothing was left to do: the old copy deleted, or the move rolled back. */
    finishedAt: text(),
  },
  // One unfinished move per workspace: a second start loses on this index (409).
  (t) => [uniqueIndex("moves_one_unfinished").on(t.workspaceId).where(sql`finished_at is null`)],
);

export type MoveRow = typeof moves.$inferSelect;
