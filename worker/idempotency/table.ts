import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * One row per `Idempotency-Key` a credential sent to a POST of /v1 (./keys.ts), kept 24 h:
 * while `status` is null the first request is running; then its answer, replayed to the
 * same key with the same request. The key is stored only as a hash, beside the credential
 * it belongs to (`key:<id>` or `session:<id>`), so one caller's keys never meet another's.
 */
export const idempotencyKeys = sqliteTable(
  "idempotency_keys",
  {
    workspaceId: text().notNull(),
    credential: text().notNull(),
    /** SHA-256 of the header's value. */
    keyHash: text().notNull(),
    /** SHA-256 of the method, path and body: another request under the same key is refused. */
    requestHash: text().notNull(),
    /** The first answer's status; null while it runs. */
    status: integer(),
    body: text(),
    contentType: text(),
    createdAt: text().notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.workspaceId, t.credential, t.keyHash] }),
    // The hourly cleanup deletes the oldest rows first, a bounded batch at a time.
    index("idempotency_keys_created").on(t.createdAt),
  ],
);
