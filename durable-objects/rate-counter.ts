import { DurableObject } from "cloudflare:workers";
import { type Counted, countRequest } from "../worker/rate-limits/counter";

/**
 * One counter of `/v1` requests that no workspace's object counts (worker/rate-limits/limit.ts):
 * a client IP's (answers without a valid credential, public routes) or the platform
 * token's. One object per counter, named by it, so each runs one request at a time and its
 * count is exact; the count is in storage, so an eviction within a window forgets nothing.
 * An alarm at the window's end deletes it: an IP seen once leaves nothing behind.
 */
export class RateCounter extends DurableObject<Cloudflare.Env> {
  /** RPC: counts a request against `limit` a minute, or refuses it (not counted). */
  async count(limit: number): Promise<Counted> {
    const now = Date.now();
    const counted = countRequest(this.ctx.storage.kv, "requests", limit, now);
    if ((await this.ctx.storage.getAlarm()) === null) {
      await this.ctx.storage.setAlarm(now + counted.resetSeconds * 1000);
    }
    return counted;
  }

  /** The window ended: nothing to keep (a new request starts a new window, and a new alarm). */
  override async alarm() {
    await this.ctx.storage.deleteAll();
  }
}
