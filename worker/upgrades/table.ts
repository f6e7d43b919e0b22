import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * Online schema upgrades (./lean-members.ts): where each one stands, so that bounded
 * steps run by any invocation (a Cron Trigger, the platform route) go on from there.
 */
export const schemaUpgrades = sqliteTable("schema_upgrades", {
  name: text().primaryKey(),
  phase: text().notNull(),
  /** The last key copied or deleted: text part, and the seq of an events key. */
  cursor: text().notNull(),
  cursorSeq: integer().notNull(),
  /** Rows copied so far, for the progress answer. */
  copied: integer().notNull(),
  updatedAt: text().notNull(),
});
