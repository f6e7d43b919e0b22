import { integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** The workspace's ordered change log: `seq` starts at 1 and grows by one per committed change. */
export const events = sqliteTable(
  "events",
  {
    workspaceId: text().notNull(),
    seq: integer().notNull(),
    type: text().notNull(),
    at: text().notNull(),
    data: text({ mode: "json" }).$type<unknown>().notNull(),
  },
  (t) => [primaryKey({ columns: [t.workspaceId, t.seq] })],
);
