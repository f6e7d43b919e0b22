import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";
import type { Actor } from "./schema";

/** The workspace's ordered change log: `seq` starts at 1 and grows by one per committed change. */
export const events = sqliteTable(
  "events",
  {
    workspaceId: text().notNull(),
    seq: integer().notNull(),
    type: text().notNull(),
    at: text().notNull(),
    data: text({ mode: "json" }).$type<unknown>().notNull(),
    /** Who caused it (./actor.ts), as JSON; events logged before actors were recorded are `system`'s. */
    actor: text({ mode: "json" }).$type<Actor>().notNull().default(sql`'{"type":"system"}'`),
  },
  (t) => [
    // WITHOUT ROWID (by hand, migrations/0017_lean-members.sql): an event is one b-tree entry.
    primaryKey({ columns: [t.workspaceId, t.seq] }),
    // The latest event about a member before a given seq: the live stream judges by it
    // whether a watcher with a role condition saw the member until a change hid it.
    index("events_of_member").on(t.workspaceId, sql`json_extract(${t.data}, '$.member.id')`, t.seq),
  ],
);
