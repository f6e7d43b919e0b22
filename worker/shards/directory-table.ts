import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * The directory database (binding DIRECTORY, migrations/directory, drizzle.directory.config.ts):
 * what must be found before a workspace's shard is known. Every other row of a workspace,
 * its `workspaces` row with its settings included, lives on its shard.
 */

/** Which shard holds each workspace; slugs are unique across shards here. */
export const directoryWorkspaces = sqliteTable("workspaces", {
  id: text().primaryKey(),
  slug: text().notNull().unique(),
  /** The n of its shard's binding, SHARD_<n>. */
  shard: integer().notNull(),
  createdAt: text().notNull(),
});

/**
 * The workspace of a credential issued before tokens carried their workspace (no "." in
 * the token), by the SHA-256 of the whole token: written for a workspace's credentials when
 * it leaves shard 0, where every such token is looked up when it has no route.
 */
export const credentialRoutes = sqliteTable(
  "credential_routes",
  {
    tokenHash: text().primaryKey(),
    workspaceId: text().notNull(),
  },
  (t) => [index("credential_routes_by_workspace").on(t.workspaceId)],
);

/**
 * Shards whose workspaces, made before the directory existed, are being registered in it
 * (worker/shards/register.ts): where the walk stands, and whether it has finished. Until it
 * has, a workspace missing from the directory is looked up on that shard.
 */
export const registrations = sqliteTable("registrations", {
  shard: integer().primaryKey(),
  /** The last workspace id registered (keyset order). */
  cursor: text().notNull(),
  registered: integer().notNull(),
  done: integer({ mode: "boolean" }).notNull(),
  updatedAt: text().notNull(),
});
