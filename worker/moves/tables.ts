/**
 * The tables a move copies (./engine.ts): every table of a shard that holds a workspace's
 * rows, and how to find them. A table added to the shards' schema is either listed here
 * (with its move triggers, ./triggers.ts, in a migration) or in NOT_MOVED; a move refuses
 * to start on a shard with a table in neither (./shape.ts), so none is left behind.
 */
export type MovedTable = {
  name: string;
  /** The primary key's columns, in its order: what `move_changes.key` holds. */
  key: readonly string[];
  /**
   * The column holding the workspace id; absent for a child table without one, whose
   * rows are found through `parent`.
   */
  workspace?: string;
  /**
   * Rows found through their parent's row: `via` holds the parent's key. The parent
   * outlives its children (nothing deletes an import, an invitation, or an action before
   * its runs), so a child's workspace is always found.
   */
  parent?: { table: string; via: string };
  /**
   * The keyset order of a copy within the workspace (or within the parent row): the
   * columns that follow it in an index, ending with a unique key, so a batch reads only
   * what it copies. Empty for a table with one row per workspace.
   */
  order: readonly string[];
};

/**
 * In copy order; a move deletes in the reverse order, children before the parents it
 * finds them through. An order over a column that changes (members' status) may copy a
 * row twice or not at all; either way the change is in `move_changes`, and the drain
 * makes the target's row the source's.
 */
export const MOVED_TABLES: readonly MovedTable[] = [
  { name: "workspaces", key: ["id"], workspace: "id", order: [] },
  { name: "roles", key: ["workspace_id", "key"], workspace: "workspace_id", order: ["key"] },
  { name: "labels", key: ["workspace_id", "slug"], workspace: "workspace_id", order: ["slug"] },
  { name: "members", key: ["id"], workspace: "workspace_id", order: ["status", "role", "id"] },
  { name: "workspace_calling_codes", key: ["workspace_id", "code"], workspace: "workspace_id", order: ["code"] },
  { name: "member_identities", key: ["workspace_id", "phone"], workspace: "workspace_id", order: ["phone"] },
  { name: "anonymous_resolutions", key: ["member_id"], workspace: "workspace_id", order: ["status", "member_id"] },
  { name: "messages", key: ["id"], workspace: "workspace_id", order: ["provider_id"] },
  { name: "api_keys", key: ["id"], workspace: "workspace_id", order: ["id"] },
  { name: "sessions", key: ["id"], workspace: "workspace_id", order: ["id"] },
  { name: "sign_in_links", key: ["token_hash"], workspace: "workspace_id", order: ["token_hash"] },
  { name: "invitations", key: ["id"], workspace: "workspace_id", order: ["id"] },
  {
    name: "invitation_links",
    key: ["token_hash"],
    parent: { table: "invitations", via: "invitation_id" },
    order: ["token_hash"],
  },
  { name: "join_requests", key: ["id"], workspace: "workspace_id", order: ["status", "id"] },
  { name: "credential_changes", key: ["id"], workspace: "workspace_id", order: ["id"] },
  { name: "outbox", key: ["id"], workspace: "workspace_id", order: ["to", "id"] },
  { name: "sms_settings", key: ["workspace_id"], workspace: "workspace_id", order: [] },
  { name: "imports", key: ["id"], workspace: "workspace_id", order: ["id"] },
  {
    name: "import_chunks",
    key: ["import_id", "chunk"],
    parent: { table: "imports", via: "import_id" },
    order: ["chunk"],
  },
  { name: "import_errors", key: ["import_id", "row"], parent: { table: "imports", via: "import_id" }, order: ["row"] },
  // A workspace has few actions: their order is sorted, not read from an index.
  { name: "actions", key: ["id"], workspace: "workspace_id", order: ["id"] },
  // Runs carry their workspace (their triggers read it) but are read through their action's index.
  {
    name: "action_runs",
    key: ["id"],
    workspace: "workspace_id",
    parent: { table: "actions", via: "action_id" },
    order: ["id"],
  },
  { name: "action_cursors", key: ["workspace_id"], workspace: "workspace_id", order: [] },
  { name: "events", key: ["workspace_id", "seq"], workspace: "workspace_id", order: ["seq"] },
  // A retry sent across a move still finds its first answer.
  {
    name: "idempotency_keys",
    key: ["workspace_id", "credential", "key_hash"],
    workspace: "workspace_id",
    order: ["credential", "key_hash"],
  },
];

/**
 * Tables of a shard that a move does not copy: index rows the target's own triggers
 * build from the members it receives, tables of the shard as a whole, the move's own,
 * and what SQLite, D1 and the online upgrades (worker/upgrades) keep.
 */
export const NOT_MOVED = new Set([
  "members_by_label",
  "members_by_label_pair",
  "members_by_term",
  "moving_workspaces",
  "move_changes",
  "schema_upgrades",
  "reach_guard",
  "label_guard",
  "d1_migrations",
  "sqlite_sequence",
  "_cf_KV",
  "_cf_METADATA",
  // The old member layout, until its upgrade's cleanup drops it (a move waits for the swap).
  "members_next",
  "events_next",
  "members_old",
  "events_old",
  "member_labels",
  "member_label_pairs",
  "member_search",
]);

export function movedTable(name: string): MovedTable {
  const table = MOVED_TABLES.find((t) => t.name === name);
  if (!table) throw new Error(`not a moved table: ${name}`);
  return table;
}
