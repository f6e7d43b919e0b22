import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";
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
    /**
     * Set when the role's type changed while members held it: their copy of it
     * (`members.type`) is being brought in step a bounded batch at a time (./retype.ts);
     * cleared once none lags.
     */
    retypingSince: text(),
  },
  (t) => [
    primaryKey({ columns: [t.workspaceId, t.key] }),
    // Retypes under way, for the sweep that resumes one whose job was lost.
    index("roles_retyping").on(t.retypingSince).where(sql`retyping_since is not null`),
  ],
);

export type RoleRow = typeof roles.$inferSelect;
