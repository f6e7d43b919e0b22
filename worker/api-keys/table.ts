import { index, sqliteTable, text } from "drizzle-orm/sqlite-core";
import type { Scope } from "../roles/scopes";

export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text().primaryKey(),
    workspaceId: text().notNull(),
    /** The member the key acts as; it never has more scopes than that member's role. */
    memberId: text().notNull(),
    name: text().notNull(),
    /** SHA-256 of the key; the key itself is shown once and never stored. */
    keyHash: text().notNull().unique(),
    scopes: text({ mode: "json" }).$type<Scope[]>().notNull(),
    expiresAt: text().notNull(),
    revokedAt: text(),
    createdAt: text().notNull(),
  },
  (t) => [index("api_keys_by_workspace").on(t.workspaceId, t.id)],
);
