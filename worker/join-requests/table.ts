import { sql } from "drizzle-orm";
import { index, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import type { JOIN_REQUEST_STATES } from "./schema";

export type JoinRequestState = (typeof JOIN_REQUEST_STATES)[number];

export const joinRequests = sqliteTable(
  "join_requests",
  {
    id: text().primaryKey(),
    workspaceId: text().notNull(),
    name: text().notNull(),
    email: text().notNull(),
    phone: text(),
    message: text(),
    status: text().$type<JoinRequestState>().notNull(),
    /** The invitation an approval sent. */
    invitationId: text(),
    decidedBy: text(),
    decidedAt: text(),
    createdAt: text().notNull(),
    updatedAt: text().notNull(),
  },
  (t) => [
    index("join_requests_by_status").on(t.workspaceId, t.status, t.id),
    // One pending request per email: a repeat changes nothing (see ./writes.ts).
    uniqueIndex("join_requests_one_pending").on(t.workspaceId, t.email).where(sql`status = 'pending'`),
  ],
);
