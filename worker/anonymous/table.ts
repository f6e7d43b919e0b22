import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

export const INBOUND_CHANNELS = ["sms", "voice"] as const;
export type InboundChannel = (typeof INBOUND_CHANNELS)[number];
export const RESOLUTION_STATUSES = ["pending", "resolved", "expired"] as const;
export type ResolutionStatus = (typeof RESOLUTION_STATUSES)[number];

/**
 * Conversation history: one row per inbound SMS or call. The unique index on the
 * provider's id makes a provider's retry a no-op (`on conflict do nothing`).
 */
export const messages = sqliteTable(
  "messages",
  {
    id: text().primaryKey(),
    workspaceId: text().notNull(),
    memberId: text().notNull(),
    channel: text().$type<InboundChannel>().notNull(),
    direction: text().$type<"inbound" | "outbound">().notNull(),
    body: text(),
    /** MessageSid or CallSid. */
    providerId: text().notNull(),
    fromNumber: text().notNull(),
    toNumber: text(),
    /** Calls: the provider's CallStatus, updated by status callbacks. */
    callStatus: text(),
    /** Calls: seconds, from the final status callback. */
    callDuration: integer(),
    /** The merge (anonymous_resolutions.merge_id) that moved this message here, so undo moves it back. */
    movedBy: text(),
    at: text().notNull(),
    updatedAt: text().notNull(),
  },
  (t) => [
    uniqueIndex("messages_provider_id").on(t.workspaceId, t.providerId),
    index("messages_by_member").on(t.memberId, t.id),
    index("messages_moved_by").on(t.movedBy),
  ],
);

/**
 * Which member a phone number leads to, for numbers that first wrote in anonymously:
 * the anonymous member, then the member it was resolved into. Numbers of members
 * added with a phone are found through `members.phone` instead.
 */
export const memberIdentities = sqliteTable(
  "member_identities",
  {
    workspaceId: text().notNull(),
    phone: text().notNull(),
    memberId: text().notNull(),
    createdAt: text().notNull(),
  },
  (t) => [primaryKey({ columns: [t.workspaceId, t.phone] }), index("member_identities_by_member").on(t.memberId)],
);

/** The resolution record of an anonymous member: who resolved or expired it, and when. */
export const anonymousResolutions = sqliteTable(
  "anonymous_resolutions",
  {
    memberId: text().primaryKey(),
    workspaceId: text().notNull(),
    /** The phone number (E.164) the member wrote in from. */
    identifier: text().notNull(),
    status: text().$type<ResolutionStatus>().notNull(),
    /** The member it was merged into (status resolved). */
    resolvedInto: text(),
    /** A member id, or "system" for the scheduled expiry. */
    resolvedBy: text(),
    resolvedAt: text(),
    /** Set by a merge and cleared by its undo; the messages it moved carry it in `moved_by`. */
    mergeId: text(),
    createdAt: text().notNull(),
  },
  // Ends with the key, so a move copies a workspace's rows in this order (worker/moves).
  (t) => [index("anonymous_resolutions_by_status").on(t.workspaceId, t.status, t.memberId)],
);
