import type { Context } from "hono";
import type { AppEnv } from "../app";
import { openSession } from "../lib/d1-sessions";
import type { Db } from "../lib/db";
import type { Shard } from "./shards";

/**
 * `c.var.db` until the request's workspace is known: there is no database of every
 * workspace, so a query before then is a bug, and it throws rather than read some shard.
 */
export const NO_SHARD_YET = new Proxy({} as Db, {
  get(_, key) {
    throw new Error(`c.var.db read before the request's workspace and shard were known (.${String(key)})`);
  },
});

/** The request's workspace lives on `shard`: its queries go there (`c.var.db`), in a D1 session (worker/lib/d1-sessions.ts). */
export function useShard(c: Context<AppEnv>, shard: Shard): void {
  c.set("shard", shard);
  c.set("db", openSession(c, shard.d1, String(shard.index)));
}
