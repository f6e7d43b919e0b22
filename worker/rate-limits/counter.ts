/** A credential's count in the current window, as the workspace's object keeps it. */
type Window = { start: number; count: number };

/** What a counted request learns: whether it may run, and what the RateLimit header says. */
export type Counted = { allowed: boolean; limit: number; remaining: number; resetSeconds: number };

/** Every window is one minute, aligned to the clock: `w=60` in RateLimit-Policy. */
export const WINDOW_SECONDS = 60;
const WINDOW_MS = WINDOW_SECONDS * 1000;
const PREFIX = "rate:";

/**
 * Fixed-window counters, one per credential, kept in the workspace's Durable Object:
 * the object runs one request at a time, so counts are exact (no lost update between
 * two locations, unlike Workers' `[[ratelimits]]` bindings, which count per location
 * and whose limit is fixed in wrangler.toml). Counts are in the object's storage, so an
 * object evicted between two requests of a window forgets nothing.
 * A refused request is not counted: a client that waits for Retry-After gets its quota.
 */
export function countRequest(kv: SyncKvStorage, credential: string, limit: number, nowMs: number): Counted {
  const start = nowMs - (nowMs % WINDOW_MS);
  const resetSeconds = Math.max(1, Math.ceil((start + WINDOW_MS - nowMs) / 1000));
  const key = PREFIX + credential;
  const stored = kv.get<Window>(key);
  const count = stored?.start === start ? stored.count : 0;
  if (count >= limit) return { allowed: false, limit, remaining: 0, resetSeconds };
  kv.put(key, { start, count: count + 1 } satisfies Window);
  return { allowed: true, limit, remaining: limit - count - 1, resetSeconds };
}

/** Drops the counters of windows that ended (the object's sweep): a credential no longer used leaves nothing. */
export function forgetEndedWindows(kv: SyncKvStorage, nowMs: number) {
  const current = nowMs - (nowMs % WINDOW_MS);
  for (const [key, window] of [...kv.list<Window>({ prefix: PREFIX })]) {
    if (window.start < current) kv.delete(key);
  }
}
