import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import type { MemberStatus } from "../table";

// The covering index tables of migrations/0011, read by ./reads.ts only until the lean
// layout's upgrade (worker/upgrades) swaps them out: outside drizzle-kit's schema (it
// reads worker/*/table.ts), as they are no part of the schema the migrations end in.
// Delete this folder once every deployment's upgrade is done.

/*
 * The three index tables below are kept by triggers (migrations/0011_covering-index-rows.sql),
 * one row per member and label, pair of labels or search term, each carrying the member's
 * status and JSON: a page walks one key in page order and answers from the rows it walks.
 * They are WITHOUT ROWID tables (made so by hand in the migration; drizzle-kit knows no such
 * option), so a row is one b-tree entry (plus a by-member index for labels and terms),
 * where a rowid table would keep a copy of its key too.
 */

/** One row per member and label, keyed in a label list's order. */
export const memberLabels = sqliteTable(
  "member_labels",
  {
    workspaceId: text().notNull(),
    label: text().notNull(),
    status: text().$type<MemberStatus>().notNull(),
    memberId: text().notNull(),
    /** 1 when the member has more than PAIRED_LABELS_MAX labels, so no pair rows. */
    many: integer().notNull(),
    json: text().notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.workspaceId, t.label, t.status, t.memberId] }),
    uniqueIndex("member_labels_by_member").on(t.memberId, t.label),
    index("member_labels_many").on(t.workspaceId, t.label, t.status, t.memberId).where(sql`${t.many} = 1`),
  ],
);

/**
 * One row per member and pair of its labels (`label` < `other`), for members with at
 * most PAIRED_LABELS_MAX labels: a list by two labels walks one key.
 */
export const memberLabelPairs = sqliteTable(
  "member_label_pairs",
  {
    workspaceId: text().notNull(),
    label: text().notNull(),
    other: text().notNull(),
    status: text().$type<MemberStatus>().notNull(),
    memberId: text().notNull(),
    json: text().notNull(),
  },
  // No by-member index: the triggers find a member's pairs by key, from its labels.
  (t) => [primaryKey({ columns: [t.workspaceId, t.label, t.other, t.status, t.memberId] })],
);

/**
 * Prefix-search terms derived from name, email and phone: one row per member and
 * distinct term. `lcp` is how many leading characters the term shares with the member's
 * next smaller term (0 for the smallest), capped at the longest search: for a prefix of
 * length L, a member's smallest matching term is the one matching term with `lcp` < L.
 * Search walks the key per `lcp` below L, so it never reads a term of a member it has
 * listed already (see ./reads.ts).
 */
export const memberSearch = sqliteTable(
  "member_search",
  {
    workspaceId: text().notNull(),
    status: text().$type<MemberStatus>().notNull(),
    lcp: integer().notNull(),
    term: text().notNull(),
    memberId: text().notNull(),
    json: text().notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.workspaceId, t.status, t.lcp, t.term, t.memberId] }),
    index("member_search_by_member").on(t.memberId),
  ],
);
