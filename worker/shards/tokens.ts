import { eq } from "drizzle-orm";
import { sha256Hex, toBase64Url } from "../lib/crypto";
import { database } from "../lib/db";
import { shardOf } from "./directory";
import { credentialRoutes } from "./directory-table";
import { firstShard, type Shard } from "./shards";

/**
 * Credentials carry their workspace: every token issued is
 * `<prefix>_<the workspace id's 26 ULID characters>.<32 random bytes, base64url>`, so the
 * Worker finds the shard that holds its hash with one directory read (cached), never a
 * scan of every shard. Only SHA-256 of the whole token is stored, so a token whose routing
 * part was changed matches no row; the row found must also belong to that workspace.
 * Tokens issued before (`<prefix>_<43 characters>`, no ".") are legacy: the directory's
 * credential_routes maps their hash when their workspace left shard 0, else shard 0 holds them.
 */
const ULID = "[0-9A-HJKMNP-TV-Z]{26}";
const SECRET = "[A-Za-z0-9_-]{43}";
const WORKSPACE_PREFIX = "ws_";

/** The shape of a token of `prefix`, routed or legacy. */
export const tokenShape = (prefix: string) => new RegExp(`^${prefix}_(?:${ULID}\\.)?${SECRET}$`);

const ROUTED = new RegExp(`^[a-z]+_(${ULID})\\.${SECRET}$`);

/** A new token for a credential of `workspaceId`: 256 random bits after the routing part. */
export function routedToken(prefix: string, workspaceId: string): string {
  const ulid = workspaceId.slice(WORKSPACE_PREFIX.length);
  if (!workspaceId.startsWith(WORKSPACE_PREFIX) || !new RegExp(`^${ULID}$`).test(ulid)) {
    throw new Error(`not a workspace id: ${workspaceId}`);
  }
  return `${prefix}_${ulid}.${toBase64Url(crypto.getRandomValues(new Uint8Array(32)))}`;
}

/** The workspace a routed token names, or null for a legacy token (or text of no token shape). */
export function workspaceOfToken(token: string): string | null {
  const match = ROUTED.exec(token);
  return match ? `${WORKSPACE_PREFIX}${match[1]}` : null;
}

/**
 * Where a credential's row is: its shard, and the workspace the row must belong to when
 * the token names one. Undefined when it names a workspace the directory does not know.
 */
export async function shardOfToken(
  env: Env,
  token: string,
): Promise<{ shard: Shard; workspaceId: string | null } | undefined> {
  const named = workspaceOfToken(token);
  if (named) {
    const shard = await shardOf(env, named);
    return shard && { shard, workspaceId: named };
  }
  const [route] = await database(env.DIRECTORY)
    .select({ workspaceId: credentialRoutes.workspaceId })
    .from(credentialRoutes)
    .where(eq(credentialRoutes.tokenHash, await sha256Hex(token)));
  if (!route) return { shard: firstShard(env), workspaceId: null };
  const shard = await shardOf(env, route.workspaceId);
  return shard && { shard, workspaceId: route.workspaceId };
}

/** Whether a row found by a token's hash belongs to the workspace the token was routed to. */
export const belongsTo = (routed: { workspaceId: string | null }, rowWorkspaceId: string) =>
  routed.workspaceId === null || routed.workspaceId === rowWorkspaceId;
