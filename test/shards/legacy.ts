import { sha256Hex } from "../../worker/lib/crypto";
import { ALL_SCOPES } from "../../worker/roles/scopes";
import type { Workspace } from "../helpers";

/** A token as they were issued before they carried their workspace: `<prefix>_<43 characters>`. */
function legacyToken(prefix: string) {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return `${prefix}_${btoa(String.fromCharCode(...bytes))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "")}`;
}

/** An API key of the owner stored straight in the shard's database, as issued before shards: no routing part. */
export async function legacyKey(d1: D1Database, ws: Workspace) {
  const key = legacyToken("lmk");
  const at = new Date().toISOString();
  await d1
    .prepare(
      `insert into api_keys (id, workspace_id, member_id, name, key_hash, scopes, expires_at, created_at)
       values (?, ?, ?, 'Old key', ?, ?, ?, ?)`,
    )
    .bind(
      `key_legacy${crypto.randomUUID().slice(0, 8)}`,
      ws.id,
      ws.ownerId,
      await sha256Hex(key),
      JSON.stringify(ALL_SCOPES),
      new Date(Date.now() + 86_400_000).toISOString(),
      at,
    )
    .run();
  return key;
}

/** A session of the owner stored the same way; answers its cookie. */
export async function legacySession(d1: D1Database, ws: Workspace) {
  const token = legacyToken("lmc");
  const at = new Date().toISOString();
  await d1
    .prepare(
      "insert into sessions (id, workspace_id, member_id, token_hash, created_at, expires_at) values (?, ?, ?, ?, ?, ?)",
    )
    .bind(
      `ses_legacy${crypto.randomUUID().slice(0, 8)}`,
      ws.id,
      ws.ownerId,
      await sha256Hex(token),
      at,
      new Date(Date.now() + 86_400_000).toISOString(),
    )
    .run();
  return `lm_session=${token}`;
}
