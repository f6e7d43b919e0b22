import { primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

export const labels = sqliteTable(
  "labels",
  {
    workspaceId: text().notNull(),
    slug: text().notNull(),
    name: text().notNull(),
    color: text().notNull(),
    description: text(),
    createdAt: text().notNull(),
  },
  (t) => [primaryKey({ columns: [t.workspaceId, t.slug] }), uniqueIndex("labels_name").on(t.workspaceId, t.name)],
);
