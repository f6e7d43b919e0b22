import { sql } from "drizzle-orm";
import { check, index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

export const labels = sqliteTable(
  "labels",
  {
    workspaceId: text().notNull(),
    slug: text().notNull(),
    name: text().notNull(),
    color: text().notNull(),
    description: text(),
    createdAt: text().notNull(),
    /**
     * Set when the label's deletion began (DELETE /v1/labels/{slug}): from then on it is
     * gone to GET /v1/labels and no write may name it (label_guard), while the deletion
     * job (./deletion.ts) takes it from its holders a bounded batch at a time; the last
     * batch deletes the row.
     */
    deletingSince: text(),
  },
  (t) => [
    primaryKey({ columns: [t.workspaceId, t.slug] }),
    uniqueIndex("labels_name").on(t.workspaceId, t.name),
    // Deletions under way, for the sweep that resumes one whose job was lost.
    index("labels_deleting").on(t.deletingSince).where(sql`deleting_since is not null`),
  ],
);

/**
 * Always empty, as `reach_guard` (worker/reach/table.ts): a write that names labels ends
 * its batch with an INSERT here that selects a row when one of them is being deleted; the
 * CHECK refuses it and D1 rolls the whole batch back (answered 409 `label_deleting`).
 */
export const labelGuard = sqliteTable("label_guard", { refused: integer().notNull() }, (t) => [
  check("label_deleting", sql`${t.refused} = 0`),
]);
