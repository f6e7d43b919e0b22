import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import type { MemberType } from "../roles/scopes";

export const MEMBER_STATUSES = ["active", "invited", "archived", "anonymous", "merged", "expired"] as const;
export type MemberStatus = (typeof MEMBER_STATUSES)[number];

export const members = sqliteTable(
  "members",
  {
    id: text().primaryKey(),
    workspaceId: text().notNull(),
    name: text().notNull(),
    email: text(),
    phone: text(),
    /** National significant number of `phone`, so search finds "555 0100" as well as "+1555...". */
    phoneNational: text(),
    externalId: text(),
    description: text(),
    role: text().notNull(),
    /** Copied from the role so lists filter by type through an index. */
    type: text().$type<MemberType>().notNull(),
    status: text().$type<MemberStatus>().notNull(),
    labels: text({ mode: "json" }).$type<string[]>().notNull(),
    createdAt: text().notNull(),
    updatedAt: text().notNull(),
  },
  (t) => [
    uniqueIndex("members_email").on(t.workspaceId, t.email),
    uniqueIndex("members_phone").on(t.workspaceId, t.phone),
    uniqueIndex("members_external_id").on(t.workspaceId, t.externalId),
    index("members_by_status").on(t.workspaceId, t.status, t.id),
    index("members_by_type").on(t.workspaceId, t.status, t.type, t.id),
    index("members_by_role").on(t.workspaceId, t.status, t.role, t.id),
  ],
);

/**
 * Index rows derived from `members.labels` by triggers (see the migrations): one per
 * member and label, carrying the member's status so a label filter walks one index.
 */
export const memberLabels = sqliteTable(
  "member_labels",
  {
    memberId: text().notNull(),
    workspaceId: text().notNull(),
    label: text().notNull(),
    status: text().$type<MemberStatus>().notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.memberId, t.label] }),
    index("member_labels_by_label").on(t.workspaceId, t.label, t.status, t.memberId),
  ],
);

/**
 * Prefix-search terms derived from name, email and phone by triggers (see the
 * migrations): one row per member and distinct term. `lcp` is how many leading
 * characters the term shares with the member's next smaller term (0 for the smallest),
 * capped at the longest search: for a prefix of length L, a member's smallest matching
 * term is the one matching term with `lcp` < L. Search walks the key per `lcp` below L,
 * so it never reads a term of a member it has listed already (see ./reads.ts).
 */
export const memberSearch = sqliteTable(
  "member_search",
  {
    workspaceId: text().notNull(),
    status: text().$type<MemberStatus>().notNull(),
    lcp: integer().notNull(),
    term: text().notNull(),
    memberId: text().notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.workspaceId, t.status, t.lcp, t.term, t.memberId] }),
    index("member_search_by_member").on(t.memberId),
  ],
);

export type MemberRow = typeof members.$inferSelect;
