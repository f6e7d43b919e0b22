import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** A new workspace's requests per minute for each credential (worker/rate-limits). */
export const DEFAULT_RATE_LIMIT_PER_MINUTE = 600;

export const workspaces = sqliteTable("workspaces", {
  id: text().primaryKey(),
  slug: text().notNull().unique(),
  name: text().notNull(),
  allowJoinRequests: integer({ mode: "boolean" }).notNull().default(false),
  /** Requests per minute each credential (an API key, a session) may make to `/v1` (worker/rate-limits). */
  rateLimitPerMinute: integer().notNull().default(DEFAULT_RATE_LIMIT_PER_MINUTE),
  /** Days its events are kept (worker/events/retention.ts); null keeps them forever. */
  eventRetentionDays: integer(),
  createdAt: text().notNull(),
});
