import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * What a shard's move triggers read (./triggers.ts): its workspaces being moved away. While a
 * workspace has a row here, every write of its rows records the row's key in `move_changes`;
 * once `frozen`, every write of its rows fails with "workspace_moved" (the whole D1 batch,
 * nothing written).
 */
export const movingWorkspaces = sqliteTable("moving_workspaces", {
  workspaceId: text().primaryKey(),
  moveId: text().notNull(),
  /** One of FREEZE (./triggers.ts): capturing, frozen, or the move's own batch deleting the old copy. */
  frozen: integer().notNull(),
});

/** The keys of a moving workspace's rows written since its move started, in commit order. */
export const moveChanges = sqliteTable(
  "move_changes",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    workspaceId: text().notNull(),
    /** The table written. */
    tbl: text().notNull(),
    /** The row's primary key: a JSON array of its values, in the key's column order. */
    key: text().notNull(),
  },
  (t) => [index("move_changes_by_workspace").on(t.workspaceId, t.id)],
);
