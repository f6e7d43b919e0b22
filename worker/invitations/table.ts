import { sql } from "drizzle-orm";
import { index, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import type { OutboxChannel } from "../outbox/table";

/** Stored states; "expired" is derived from a pending invitation's `expiresAt`. */
export const INVITATION_STATES = ["pending", "accepted", "revoked"] as const;
export type InvitationState = (typeof INVITATION_STATES)[number];

export const invitations = sqliteTable(
  "invitations",
  {
    id: text().primaryKey(),
    workspaceId: text().notNull(),
    /** The invitee: a member with status "invited" until they accept. */
    memberId: text().notNull(),
    /** Where the link goes: the email, or the phone by SMS. */
    channel: text().$type<OutboxChannel>().notNull(),
    email: text(),
    phone: text(),
    role: text().notNull(),
    status: text().$type<InvitationState>().notNull(),
    /** SHA-256 of the one live link's token; a resend replaces it, which kills the old link. */
    tokenHash: text().notNull(),
    expiresAt: text().notNull(),
    sentAt: text().notNull(),
    invitedBy: text(),
    /** The join request this invitation answers, if any. */
    joinRequestId: text(),
    acceptedAt: text(),
    /** The session the acceptance opened: later statements of the accepting batch check it. */
    acceptedSessionId: text(),
    revokedAt: text(),
    createdAt: text().notNull(),
    updatedAt: text().notNull(),
  },
  (t) => [
    index("invitations_by_status").on(t.workspaceId, t.status, t.id),
    // A member's invitations, newest first (GET /v1/invitations?memberId=).
    index("invitations_by_member").on(t.memberId, t.id),
    // A move copies a workspace's invitations, and their links, in this order (worker/moves).
    index("invitations_by_workspace").on(t.workspaceId, t.id),
    // One open invitation per member: two racing invites of one person cannot both land.
    uniqueIndex("invitations_one_pending").on(t.memberId).where(sql`status = 'pending'`),
  ],
);

/**
 * Every link ever sent for an invitation (hash only), so an old link answers
 * "superseded" instead of looking unknown.
 */
export const invitationLinks = sqliteTable(
  "invitation_links",
  {
    tokenHash: text().primaryKey(),
    invitationId: text().notNull(),
    createdAt: text().notNull(),
  },
  // An invitation's links, for a move (worker/moves), which finds them through their invitation.
  (t) => [index("invitation_links_by_invitation").on(t.invitationId, t.tokenHash)],
);

export type InvitationRow = typeof invitations.$inferSelect;
