import type { Context, MiddlewareHandler } from "hono";
import { type Db, sessionDatabase } from "./db";
import { ApiError } from "./errors";

/**
 * Reads near the reader: a request's queries run in a D1 session (`withSession`), which may
 * read a replica, and its answer carries the session's bookmark in this header; a request
 * that sends it back reads at least what that answer saw (spec/api.md, "Shards";
 * https://developers.cloudflare.com/d1/best-practices/read-replication/).
 */
export const BOOKMARK_HEADER = "x-d1-bookmark";

/**
 * D1's bookmarks are hex groups joined by "-" (`00000085-0000024c-00004c6d-8e61117b…`).
 * Checked loosely (any such groups, up to 128 characters), so a longer form D1 may adopt
 * still passes, while a value that cannot be one is refused rather than handed to D1,
 * which would fail the request's first query.
 */
const D1_BOOKMARK = "[0-9a-f]{1,64}(?:-[0-9a-f]{1,64}){0,7}";
const BOOKMARK = new RegExp(`^${D1_BOOKMARK}$`);
const MAX_BOOKMARK = 128;

export const isBookmark = (value: string) => value.length <= MAX_BOOKMARK && BOOKMARK.test(value);

/**
 * The header's value: `<database>:<D1 bookmark>`. A bookmark names a point in one
 * database's history, and a workspace's database changes when it moves to another shard:
 * a bookmark of another database (or one without its database, sent before) is not
 * handed to D1; that read starts on the primary instead, which is newer than any bookmark.
 */
export const BOOKMARK_FORMAT = { pattern: `^(?:[0-9a-z_]{1,32}:)?${D1_BOOKMARK}$`, maxLength: 160 };
const SENT = new RegExp(`^(?:([0-9a-z_]{1,32}):)?(${D1_BOOKMARK})$`);

/**
 * The newer of two bookmarks of one database: D1's bookmarks sort oldest to newest as
 * strings ("lexicographically sortable", D1's glossary and Time Travel pages).
 */
export function newerBookmark(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined || b === undefined) return a ?? b;
  return a >= b ? a : b;
}

type Opened = { d1: D1Database; database: string; session?: D1DatabaseSession; db: Db };
const opened = new WeakMap<Context, Opened>();
const noted = new WeakMap<Context, string>();
/** Public routes whose answer carries the bookmark anyway: they sign the caller in (`shareBookmark`). */
const shared = new WeakSet<Context>();

/** The request's bookmark and its database, if it sent one; a value that cannot be one is refused (400). */
function sentBookmark(c: Context): { database?: string; bookmark: string } | undefined {
  const value = c.req.header(BOOKMARK_HEADER);
  if (value === undefined) return undefined;
  const match = value.length <= BOOKMARK_FORMAT.maxLength ? SENT.exec(value) : null;
  if (!match?.[2]) throw new ApiError(400, "invalid_bookmark");
  return { database: match[1], bookmark: match[2] };
}

/**
 * Where the request's session starts. A read starts at the bookmark it sent (a replica at
 * least that new), else anywhere ("first-unconstrained": the nearest copy). A write starts
 * on the primary ("first-primary"), bookmark or not: its statements go there anyway, and
 * the checks it reads first (the member exists, the caller outranks them) then see what
 * others wrote a moment ago without their bookmark, so a 404 or 409 is never an artefact
 * of a replica's lag; the primary is also newer than any bookmark a client can hold.
 */
function startOf(c: Context, database: string): string {
  if (c.req.method !== "GET" && c.req.method !== "HEAD") return "first-primary";
  const sent = sentBookmark(c);
  if (!sent) return "first-unconstrained";
  return sent.database === database ? sent.bookmark : "first-primary";
}

/**
 * The request's database over a D1 session of `d1`; later calls answer the same one, and
 * `d1Sessions()` answers its bookmark. The session opens at the first query, so a request
 * that runs none (the OpenAPI document) opens none. A request reads one database: a
 * bookmark names a point in one database's history, so a second one is refused.
 */
export function openSession(c: Context, d1: D1Database, database: string): Db {
  const known = opened.get(c);
  if (known) {
    if (known.d1 !== d1) throw new Error("openSession: a request reads one database (its bookmark names one)");
    return known.db;
  }
  const session = () => {
    entry.session ??= d1.withSession(startOf(c, database));
    return entry.session;
  };
  const entry: Opened = {
    d1,
    database,
    db: sessionDatabase({
      prepare: (query) => session().prepare(query),
      batch: (statements) => session().batch(statements),
    }),
  };
  opened.set(c, entry);
  return entry.db;
}

/**
 * The newest bookmark the request has seen: its session's, if it ran a query, or a newer one
 * noted for a write made elsewhere (`noteBookmark`). What its answer and its poke carry.
 */
export function sessionBookmark(c: Context): string | undefined {
  return newerBookmark(opened.get(c)?.session?.getBookmark() ?? undefined, noted.get(c));
}

/**
 * The request had a write made outside its session (by the workspace's object, through the
 * binding) that committed at `bookmark`: its answer and its poke then carry at least that,
 * so the caller reads that write too.
 */
export function noteBookmark(c: Context, bookmark: string | undefined): void {
  if (bookmark && isBookmark(bookmark)) noted.set(c, newerBookmark(noted.get(c), bookmark) ?? bookmark);
}

/**
 * Has a public route's answer carry the bookmark: one that signs the caller in, so the
 * next request finds the session it made though a replica lags.
 */
export function shareBookmark(c: Context): void {
  shared.add(c);
}

/**
 * Refuses a malformed `x-d1-bookmark` (400 `invalid_bookmark`) before anything runs, and
 * answers the session's bookmark to a caller whose credential was accepted (as
 * ./d1-metrics.ts does: worker/auth/route.ts sets `authenticated`) or whom the route signed
 * in. Not to anyone else: a bookmark tells whether the request wrote, which an answer
 * that must not tell a known email from a stranger's (a join request) would give away.
 * Not on a WebSocket upgrade, which no client reads it from.
 */
export function d1Sessions(): MiddlewareHandler<{ Variables: { authenticated?: true } }> {
  return async (c, next) => {
    sentBookmark(c);
    await next();
    if (!c.var.authenticated && !shared.has(c)) return;
    const bookmark = sessionBookmark(c);
    const database = opened.get(c)?.database;
    if (bookmark && database !== undefined && c.res.status !== 101)
      c.header(BOOKMARK_HEADER, `${database}:${bookmark}`);
  };
}
