import { index, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * Browser sessions (cookie holders). Only the token's SHA-256 is stored. A trigger (see
 * the migrations) ends a member's sessions when they stop being active.
 */
export const sessions = sqliteTable(
  "sessions",
  {
    id: text().primaryKey(),
    workspaceId: text().notNull(),
    memberId: text().notNull(),
    tokenHash: text().notNull().unique(),
    createdAt: text().notNull(),
    expiresAt: text().notNull(),
    endedAt: text(),
  },
  (t) => [
    index("sessions_by_member").on(t.memberId),
    // A move copies a workspace's rows in this order (worker/moves).
    index("sessions_by_workspace").on(t.workspaceId, t.id),
  ],
);

/** Emailed sign-in links: single use, short-lived, hash only. */
export const signInLinks = sqliteTable(
  "sign_in_links",
  {
    tokenHash: text().primaryKey(),
    workspaceId: text().notNull(),
    memberId: text().notNull(),
    expiresAt: text().notNull(),
    usedAt: text(),
    /** The session the link opened: the verifying batch's later statements check it. */
    sessionId: text(),
    createdAt: text().notNull(),
  },
  // A move copies a workspace's rows in this order (worker/moves).
  (t) => [index("sign_in_links_by_workspace").on(t.workspaceId, t.tokenHash)],
);
