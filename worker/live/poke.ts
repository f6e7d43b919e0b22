import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../app";
import { newerBookmark, sessionBookmark } from "../lib/d1-sessions";

/**
 * After a write commits, tells the workspace's Durable Object to deliver the new events.
 * Runs after the response is made (waitUntil); if the poke is lost, the object's sweep
 * alarm still finds the events within seconds. A write that sets `pokeMayWait` skips the
 * poke while the object has said it is quiet (see `pokeUnlessQuiet`). The poke carries the
 * bookmark of the request's D1 session, which includes its commit (worker/lib/d1-sessions.ts).
 */
export const pokeAfterWrites: MiddlewareHandler<AppEnv> = async (c, next) => {
  await next();
  const workspaceId = c.get("caller")?.workspaceId ?? c.get("changedWorkspace");
  if (!workspaceId || c.req.method === "GET" || c.res.status >= 400) return;
  const bookmark = sessionBookmark(c);
  c.executionCtx.waitUntil(
    c.get("pokeMayWait") ? pokeUnlessQuiet(c.env, workspaceId, bookmark) : poke(c.env, workspaceId, bookmark),
  );
};

/**
 * What a poke asks the object to read at least: the writer's bookmark (the object's reads
 * may come from a replica, which must not end the log before that commit), or nothing for
 * a write made through the binding (background work: worker/lib/db.ts `database`), whose
 * poke makes the object read from the primary. A poke that covers several commits carries
 * the newest of their bookmarks, or nothing if any had none.
 */
type ReadFrom = string | undefined;
const covering = (a: ReadFrom, b: ReadFrom): ReadFrom =>
  a === undefined || b === undefined ? undefined : newerBookmark(a, b);

/**
 * A workspace's pokes in this isolate: the one under way, and the one waiting for it to
 * end with what it must carry for the commits it covers.
 */
type Pokes = { inFlight: Promise<void> | null; next: Promise<void> | null; nextReadFrom: ReadFrom };
const pokes = new Map<string, Pokes>();
/**
 * Until when (this isolate's clock) each workspace's object said it needs no poke: nobody
 * watched and no action waited when it last read the log. Counted from when the poke was
 * sent, so it ends no later than the object's own record of it (which wakes the object).
 */
const quietUntil = new Map<string, number>();

/**
 * Pokes the workspace's object, coalesced per isolate: at most one poke under way and one
 * waiting. The object reads the log from its own position, so one poke that starts after
 * a commit delivers it and every commit before it. A poke under way may have read the
 * log before this commit, so a caller then shares the waiting poke (or queues it), which
 * starts once the one under way ends. Resolves when a poke that covers the caller's
 * commit has ended; each poke runs in the request that queued it, kept alive by its
 * waitUntil, so no request waits for I/O owned by another that may end first. `bookmark`
 * is the committing session's (none for a write through the binding: see `ReadFrom`).
 */
export function poke(env: Env, workspaceId: string, bookmark?: string): Promise<void> {
  let state = pokes.get(workspaceId);
  if (!state) {
    state = { inFlight: null, next: null, nextReadFrom: undefined };
    pokes.set(workspaceId, state);
  }
  if (state.next) {
    state.nextReadFrom = covering(state.nextReadFrom, bookmark);
    return state.next;
  }
  if (!state.inFlight) return start(env, workspaceId, state, bookmark);
  const current = state;
  current.nextReadFrom = bookmark;
  const next = state.inFlight.then(() => {
    current.next = null;
    return start(env, workspaceId, current, current.nextReadFrom);
  });
  current.next = next;
  return next;
}

/**
 * A poke for a stream of writes nobody may be waiting for (inbound SMS and calls): skipped
 * while the object's quiet time lasts. The object keeps the time it granted and, should a
 * socket connect or an action appear meanwhile, wakes itself when it ends and reads what
 * the skipped pokes would have told it (durable-objects/workspace-live.ts). So at most one
 * poke a second per isolate reaches an object nobody watches, and a watcher who arrives
 * then sees those writes at most a quiet time late.
 */
export function pokeUnlessQuiet(env: Env, workspaceId: string, bookmark?: string): Promise<void> {
  const until = quietUntil.get(workspaceId);
  if (until !== undefined && Date.now() < until) return Promise.resolve();
  quietUntil.delete(workspaceId);
  return poke(env, workspaceId, bookmark);
}

function start(env: Env, workspaceId: string, state: Pokes, readFrom: ReadFrom): Promise<void> {
  const sent = send(env, workspaceId, readFrom).finally(() => {
    if (state.inFlight === sent) state.inFlight = null;
    if (!state.inFlight && !state.next) pokes.delete(workspaceId);
  });
  state.inFlight = sent;
  return sent;
}

async function send(env: Env, workspaceId: string, readFrom: ReadFrom) {
  const sentAt = Date.now();
  try {
    const { quietMs } = await env.WORKSPACE.getByName(workspaceId).poke(readFrom);
    if (quietMs > 0) quietUntil.set(workspaceId, sentAt + quietMs);
    else quietUntil.delete(workspaceId);
  } catch (err) {
    quietUntil.delete(workspaceId);
    console.warn(JSON.stringify({ poke: workspaceId, error: String(err) }));
  }
}
