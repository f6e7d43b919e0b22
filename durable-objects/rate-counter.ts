import { DurableObject } from "cloudflare:workers";
import { type Counted, countRequest, forgetEndedWindows, WINDOW_SECONDS } from "../worker/rate-limits/counter";

const WINDOW_MS = WINDOW_SECONDS * 1000;

/**
 * One counter of `/v1` requests that no workspace's object counts (worker/rate-limits/limit.ts):
 * a client IP's (answers without a valid credential, public routes) or the platform
 * token's. One object per counter, named by it, so each runs one request at a time and its
 * count is exact; the count is in storage, so an eviction within a window forgets nothing.
 * An alarm at the window's end deletes it: an IP seen once leaves nothing behind.
 */
export class RateCounter extends DurableObject<Cloudflare.Env> {
  /** The window end this instance set the alarm to. */
  #alarmAt: number | undefined;

  /** RPC: counts a request against `limit` a minute, or refuses it (not counted). */
  count(limit: number): Counted {
    const now = Date.now();
    const counted = countRequest(this.ctx.storage.kv, "requests", limit, now);
    // Set once a window per instance (no read of the alarm): a new instance sets it again, to the same end.
    const end = now - (now % WINDOW_MS) + WINDOW_MS;
    if (this.#alarmAt !== end) {
      this.#alarmAt = end;
      void this.ctx.storage.setAlarm(end);
    }
    return counted;
  }

  /** The window ended: its count goes (a request of the next window, counted meanwhile, stays). */
  override alarm() {
    forgetEndedWindows(this.ctx.storage.kv, Date.now());
  }
}
