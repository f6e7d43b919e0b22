import { integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";
import type { MemberType, Scope } from "./scopes";

export const roles = sqliteTable(
  "roles",
  {
    workspaceId: text().notNull(),
    key: text().notNull(),
    name: text().notNull(),
    type: text().$type<MemberType>().notNull(),
    scopes: text({ mode: "json" }).$type<Scope[]>().notNull(),
    condition: text(),
    builtIn: integer({ mode: "boolean" }).notNull().default(false),
    createdAt: text().notNull(),
    updatedAt: text().notNull(),
  },
  (t) => [primaryKey({ columns: [t.workspaceId, t.key] })],
);

export type RoleRow = typeof roles.$inferSelect;
