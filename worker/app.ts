import { Hono } from "hono";
import type { Actor } from "./events/schema";
import type { Db } from "./lib/db";
import type { MemberType, Scope } from "./roles/scopes";
import type { Shard } from "./shards/shards";

/** Who is calling: implied by the credential, and the workspace every query is scoped by. */
export type Caller = {
  workspaceId: string;
  memberId: string;
  type: MemberType;
  scopes: Scope[];
  /** The API key used, if any: its revocation ends what it opened (live sockets). */
  keyId?: string;
  /** The session used, if any (its id, not its token): its end ends what it opened (live sockets). */
  sessionId?: string;
  /**
   * The CEL condition the caller is held to (worker/reach): their role's, and for a
   * customer `member.id == actor.id` too (worker/reach/customers.ts); null for none,
   * undefined when not read.
   */
  condition?: string | null;
  /** The workspace's requests per minute for each credential (worker/rate-limits); unset outside a request. */
  rateLimitPerMinute?: number;
  /** The caller as the events it causes name it (worker/events/actor.ts): the member, and the key if one was used. */
  actor: Actor;
};

export type AppEnv = {
  Bindings: Env;
  Variables: {
    /**
     * The workspace's shard, set once the workspace is known (worker/shards/context.ts
     * `useShard`: the credential, the slug, the link's token, the URL's workspace id);
     * reading it before then throws.
     */
    db: Db;
    shard: Shard;
    caller: Caller;
    /** Set by public routes that change a workspace, so its live stream is poked. */
    changedWorkspace?: string;
    /** The request's credential was accepted (a member's or the platform's): see ./d1-metrics.ts. */
    authenticated?: true;
    /** The poke may be skipped while the workspace's object is quiet (worker/live/poke.ts). */
    pokeMayWait?: boolean;
  };
};

export const router = () => new Hono<AppEnv>();
