import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const workspaces = sqliteTable("workspaces", {
  id: text().primaryKey(),
  slug: text().notNull().unique(),
  name: text().notNull(),
  allowJoinRequests: integer({ mode: "boolean" }).notNull().default(false),
  createdAt: text().notNull(),
});
