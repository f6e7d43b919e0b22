import { eq, type SQL } from "drizzle-orm";
import { database } from "../lib/db";
import { workspaces } from "../platform/table";
import { directoryWorkspaces, registrations } from "./directory-table";
import { firstShard, type Shard, shardAt } from "./shards";

/**
 * How long an isolate trusts what the directory said of a workspace's shard. A move
 * clears its own isolate's entry (`forgetShard`); other isolates see the new shard within
 * this time, which the move waits out before removing the old copy.
 */
export const SHARD_CACHE_MS = 5_000;

type Entry = { id: string; index: number; until: number };
const byId = new Map<string, Entry>();
const bySlug = new Map<string, Entry>();

const directory = (env: Env) => database(env.DIRECTORY);

const columns = { id: directoryWorkspaces.id, slug: directoryWorkspaces.slug, shard: directoryWorkspaces.shard };

/** A workspace's shard, from the directory (cached up to SHARD_CACHE_MS); undefined for no such workspace. */
export async function shardOf(env: Env, workspaceId: string): Promise<Shard | undefined> {
  const cached = fresh(byId.get(workspaceId));
  if (cached) return shardAt(env, cached.index);
  const found = await lookUp(env, eq(directoryWorkspaces.id, workspaceId), eq(workspaces.id, workspaceId));
  return found && shardAt(env, found.shard);
}

/** The workspace of a slug and its shard, as `shardOf`; undefined for no such workspace. */
export async function shardOfSlug(env: Env, slug: string): Promise<{ workspaceId: string; shard: Shard } | undefined> {
  const cached = fresh(bySlug.get(slug));
  const found = cached
    ? { id: cached.id, shard: cached.index }
    : await lookUp(env, eq(directoryWorkspaces.slug, slug), eq(workspaces.slug, slug));
  const shard = found && shardAt(env, found.shard);
  return shard && { workspaceId: found.id, shard };
}

/**
 * The directory's row, read with whether shard 0's older workspaces are all registered
 * (one round trip): if not, and the directory lacks the workspace, it is looked for on
 * shard 0 (./register.ts).
 */
async function lookUp(env: Env, inDirectory: SQL, onFirstShard: SQL) {
  const db = directory(env);
  const [[row], [registration]] = await db.batch([
    db.select(columns).from(directoryWorkspaces).where(inDirectory),
    db.select({ done: registrations.done }).from(registrations).where(eq(registrations.shard, 0)),
  ]);
  const found = row ?? (registration?.done ? undefined : await registerFromFirstShard(env, onFirstShard));
  if (found) remember(found);
  return found;
}

/** Drops this isolate's cached shard of a workspace: its next request asks the directory (a move's switch calls it). */
export function forgetShard(workspaceId: string): void {
  const entry = byId.get(workspaceId);
  byId.delete(workspaceId);
  if (entry) {
    for (const [slug, e] of bySlug) if (e.id === workspaceId) bySlug.delete(slug);
  }
}

const fresh = (entry: Entry | undefined) => (entry && entry.until > Date.now() ? entry : undefined);

function remember(row: { id: string; slug: string; shard: number }) {
  const entry = { id: row.id, index: row.shard, until: Date.now() + SHARD_CACHE_MS };
  byId.set(row.id, entry);
  bySlug.set(row.slug, entry);
}

/**
 * A workspace made before the directory existed: until ./register.ts has registered every
 * one, a workspace the directory lacks is looked for on shard 0 (where they all are) and
 * registered there and then.
 */
async function registerFromFirstShard(env: Env, where: SQL) {
  const [row] = await database(firstShard(env).d1)
    .select({ id: workspaces.id, slug: workspaces.slug, createdAt: workspaces.createdAt })
    .from(workspaces)
    .where(where);
  if (!row) return undefined;
  // A workspace registered meanwhile (or moved since) keeps its row.
  await directory(env)
    .insert(directoryWorkspaces)
    .values({ ...row, shard: 0 })
    .onConflictDoNothing();
  const [stored] = await directory(env)
    .select(columns)
    .from(directoryWorkspaces)
    .where(eq(directoryWorkspaces.id, row.id));
  return stored;
}

/**
 * A new workspace's directory row, written before any of its rows on the shard: the slug
 * is unique across shards here (the UNIQUE index refuses a taken one). The slug is looked
 * up first: while shard 0's older workspaces are not all registered, one of them holding
 * it is registered then, so the index sees it.
 */
export async function registerWorkspace(env: Env, row: { id: string; slug: string; shard: number; createdAt: string }) {
  await shardOfSlug(env, row.slug);
  await directory(env).insert(directoryWorkspaces).values(row);
}

/** Takes back the directory row of a workspace whose shard batch failed: nothing of it remains. */
export async function unregisterWorkspace(env: Env, workspaceId: string) {
  forgetShard(workspaceId);
  await directory(env).delete(directoryWorkspaces).where(eq(directoryWorkspaces.id, workspaceId));
}
