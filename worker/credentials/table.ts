import { sql } from "drizzle-orm";
import { index, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import type { OutboxChannel } from "../outbox/table";

export const CREDENTIAL_KINDS = ["email", "phone"] as const;
export type CredentialKind = (typeof CREDENTIAL_KINDS)[number];

/** Stored states; "expired" is derived from a pending change's `expiresAt`. */
export const CREDENTIAL_CHANGE_STATES = ["pending", "confirmed", "superseded"] as const;
export type CredentialChangeState = (typeof CREDENTIAL_CHANGE_STATES)[number];

/**
 * Email and phone changes an admin started and the member confirms by a link sent to
 * their current contact. Also the audit trail of credential changes: old and new values
 * are kept here (listed only to `members:admin`), never in the event log; the link's
 * token only as its SHA-256.
 */
export const credentialChanges = sqliteTable(
  "credential_changes",
  {
    id: text().primaryKey(),
    workspaceId: text().notNull(),
    memberId: text().notNull(),
    kind: text().$type<CredentialKind>().notNull(),
    /** The member's value when the change started; rewritten to the value replaced on confirmation. */
    oldValue: text(),
    /** Validated and normalized when the change starts: a lowercased email or an E.164 phone. */
    newValue: text().notNull(),
    /** National number of a new phone, copied to `members.phone_national` on confirmation. */
    newNational: text(),
    /** Where the link went: the member's current email, or an SMS to their current phone. */
    sentTo: text().$type<OutboxChannel>().notNull(),
    status: text().$type<CredentialChangeState>().notNull(),
    tokenHash: text().notNull().unique(),
    expiresAt: text().notNull(),
    requestedBy: text(),
    /** A fresh id the confirming batch stamps here; its later statements require it (./confirm.ts). */
    confirmation: text(),
    confirmedAt: text(),
    createdAt: text().notNull(),
    updatedAt: text().notNull(),
  },
  (t) => [
    index("credential_changes_by_member").on(t.memberId, t.id),
    // A move copies a workspace's rows in this order (worker/moves).
    index("credential_changes_by_workspace").on(t.workspaceId, t.id),
    // A newer change supersedes the pending one in its own batch; this refuses any second.
    uniqueIndex("credential_changes_one_pending").on(t.memberId, t.kind).where(sql`status = 'pending'`),
  ],
);

export type CredentialChangeRow = typeof credentialChanges.$inferSelect;
