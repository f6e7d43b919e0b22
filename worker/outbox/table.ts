import { index, sqliteTable, text } from "drizzle-orm/sqlite-core";
import type { OUTBOX_CHANNELS } from "./schema";

export type OutboxChannel = (typeof OUTBOX_CHANNELS)[number];

/**
 * Messages the local default provider "sent": with no email or SMS provider configured
 * they land here, full text and links included, for `GET /v1/outbox`.
 */
export const outbox = sqliteTable(
  "outbox",
  {
    id: text().primaryKey(),
    workspaceId: text().notNull(),
    channel: text().$type<OutboxChannel>().notNull(),
    /** A lowercased email or an E.164 phone number. */
    to: text().notNull(),
    /**
     * The member the message was for (a sign-in, invitation or credential-change link,
     * an action's message about them), or null for none (a join request's address): who
     * may read its links is judged by that member's role (./routes.ts).
     */
    memberId: text(),
    subject: text(),
    text: text().notNull(),
    createdAt: text().notNull(),
  },
  (t) => [index("outbox_by_recipient").on(t.workspaceId, t.to, t.id)],
);
