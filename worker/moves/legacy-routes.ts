/**
 * A token issued before tokens carried their workspace (worker/shards/tokens.ts) is looked
 * for on shard 0 unless the directory's credential_routes names its workspace. Before a
 * workspace leaves shard 0, every credential hash it holds there gets that route, so its
 * old keys, sessions and links keep working on the new shard. Tokens issued since carry
 * their workspace and never read a route; a route for one is harmless. Live tickets last
 * seconds and are not routed.
 */

/** Rows read from the source and routes written per round trip (D1 binds at most 100 values a statement). */
const ROUTES_PER_BATCH = 200;

/**
 * Each credential table's hashes for workspace ?1, in an index's order, after the keyset
 * position ?2 (the `k` of the last row read; '' at the start), as (h, k) rows.
 */
const CREDENTIAL_HASHES = [
  { start: "", query: "select key_hash h, id k from api_keys where workspace_id = ?1 and id > ?2 order by id" },
  { start: "", query: "select token_hash h, id k from sessions where workspace_id = ?1 and id > ?2 order by id" },
  {
    start: "",
    query:
      "select token_hash h, token_hash k from sign_in_links where workspace_id = ?1 and token_hash > ?2 order by token_hash",
  },
  {
    start: "",
    query: "select token_hash h, id k from credential_changes where workspace_id = ?1 and id > ?2 order by id",
  },
  { start: "", query: "select token_hash h, id k from invitations where workspace_id = ?1 and id > ?2 order by id" },
  {
    start: '["",""]',
    query: `select l.token_hash h, json_array(i.id, l.token_hash) k
      from invitations i join invitation_links l on l.invitation_id = i.id
      where i.workspace_id = ?1 and (i.id, l.token_hash) > (?2 ->> 0, ?2 ->> 1)
      order by i.id, l.token_hash`,
  },
];

/** Routes every credential of `workspaceId` held on `source` to the workspace, a bounded batch at a time. */
export async function routeLegacyCredentials(source: D1Database, directory: D1Database, workspaceId: string) {
  for (const { query, start } of CREDENTIAL_HASHES) {
    let after = start;
    for (;;) {
      const { results } = await source
        .prepare(`${query} limit ${ROUTES_PER_BATCH}`)
        .bind(workspaceId, after)
        .all<{ h: string; k: string }>();
      if (results.length > 0) {
        await directory
          .prepare(
            `insert into credential_routes (token_hash, workspace_id)
             select value, ?2 from json_each(?1) where true
             on conflict (token_hash) do nothing`,
          )
          .bind(JSON.stringify(results.map((r) => r.h)), workspaceId)
          .run();
      }
      if (results.length < ROUTES_PER_BATCH) break;
      after = results[results.length - 1]?.k ?? after;
    }
  }
}
