import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import type { MemberType } from "../roles/scopes";
import type { Attributes } from "./attributes";
import type { MEMBER_STATUSES } from "./schema";

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
    /** Custom attributes (./attributes.ts) as JSON; null when there are none, to keep the row lean. */
    attributes: text({ mode: "json" }).$type<Attributes>(),
    createdAt: text().notNull(),
    updatedAt: text().notNull(),
    /**
     * The contract's Member JSON (`memberJson` in ./json.ts), computed by SQLite when read
     * (VIRTUAL: it takes no space here). The triggers copy it into every index row of the
     * member, so a label or search page reads its index rows and never `members`.
     */
    json: text()
      .notNull()
      .generatedAlwaysAs(
        sql`json_object('id', id, 'name', name, 'email', email, 'phone', phone, 'role', role, 'type', type,
  'externalId', external_id, 'description', description, 'labels', json(labels), 'status', status,
  'createdAt', created_at, 'updatedAt', updated_at)`,
        { mode: "virtual" },
      ),
  },
  // WITHOUT ROWID (made so by hand in migrations/0017_lean-members.sql; drizzle-kit knows no
  // such option): a member is one b-tree entry, and its writes one row fewer. A status list
  // (and a type list) is the union of the status's ranges of each role (./reads.ts), so
  // one index serves status, type and role lists.
  (t) => [
    uniqueIndex("members_by_email").on(t.workspaceId, t.email).where(sql`${t.email} IS NOT NULL`),
    uniqueIndex("members_by_phone").on(t.workspaceId, t.phone).where(sql`${t.phone} IS NOT NULL`),
    uniqueIndex("members_by_external_id").on(t.workspaceId, t.externalId).where(sql`${t.externalId} IS NOT NULL`),
    index("members_by_status_role").on(t.workspaceId, t.status, t.role, t.id),
  ],
);

/**
 * A member with more labels than this has no member_label_pairs rows (they grow as the
 * square of the labels, and every write of the member rewrites them all); lists by two
 * labels find such members through member_labels instead (`many`). The migration's
 * triggers use the same number.
 */
export const PAIRED_LABELS_MAX = 6;

/*
 * The index tables below are kept by triggers (migrations/0017_lean-members.sql) in the
 * statement that writes the member: keys only (a page joins `members` for the rest, one row
 * read a member), no by-member index (the triggers find a member's rows by their keys, from
 * the values the member had). WITHOUT ROWID tables, made so by hand in the migration.
 */

/** One row per member and label, keyed in a label list's order. */
export const membersByLabel = sqliteTable(
  "members_by_label",
  {
    workspaceId: text().notNull(),
    label: text().notNull(),
    status: text().$type<MemberStatus>().notNull(),
    memberId: text().notNull(),
    /** 1 when the member has more than PAIRED_LABELS_MAX labels, so no pair rows. */
    many: integer().notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.workspaceId, t.label, t.status, t.memberId] }),
    index("members_by_label_many").on(t.workspaceId, t.label, t.status, t.memberId).where(sql`${t.many} = 1`),
  ],
);

/**
 * One row per member and pair of its labels (`label` < `other`), for members with at
 * most PAIRED_LABELS_MAX labels: a list by two labels walks one key.
 */
export const membersByLabelPair = sqliteTable(
  "members_by_label_pair",
  {
    workspaceId: text().notNull(),
    label: text().notNull(),
    other: text().notNull(),
    status: text().$type<MemberStatus>().notNull(),
    memberId: text().notNull(),
  },
  (t) => [primaryKey({ columns: [t.workspaceId, t.label, t.other, t.status, t.memberId] })],
);

/**
 * Prefix-search terms: the lowercased name, the name after its first space, and the
 * email; one row per member and distinct term. `lcp` is how many leading characters the
 * term shares with the member's next smaller term (0 for the smallest), capped at the
 * longest search: for a prefix of length L, a member's smallest matching term is the one
 * matching term with `lcp` < L. Search walks the key per `lcp` below L, so it never reads
 * a term of a member it has listed already (see ./reads.ts). Phones are searched through
 * `members_by_phone` instead (./phone-search.ts).
 */
export const membersByTerm = sqliteTable(
  "members_by_term",
  {
    workspaceId: text().notNull(),
    status: text().$type<MemberStatus>().notNull(),
    lcp: integer().notNull(),
    term: text().notNull(),
    memberId: text().notNull(),
  },
  (t) => [primaryKey({ columns: [t.workspaceId, t.status, t.lcp, t.term, t.memberId] })],
);

/**
 * The country calling codes of a workspace's members' phones: a national number typed
 * without its code is searched under each of them.
 */
export const workspaceCallingCodes = sqliteTable(
  "workspace_calling_codes",
  { workspaceId: text().notNull(), code: text().notNull() },
  (t) => [primaryKey({ columns: [t.workspaceId, t.code] })],
);

export type MemberRow = typeof members.$inferSelect;
