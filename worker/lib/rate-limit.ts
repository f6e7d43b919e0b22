import type { Context } from "hono";
import { sha256Hex } from "./crypto";
import { ApiError } from "./errors";

/** Any route's context: these read only the request and the bindings. */
type Bound = Pick<Context<{ Bindings: Env }>, "req" | "env">;

/** The `period` of every `[[ratelimits]]` binding in wrangler.toml: what a 429's Retry-After says. */
const PERIOD_SECONDS = 60;

/**
 * The policy of each binding, as its 429 names it in RateLimit-Policy and RateLimit:
 * the `limit` of its `[[ratelimits]]` in wrangler.toml (kept in step by hand).
 */
export const FLOOD = {
  perIp: { name: "flood-ip", quota: 10 },
  perWorkspace: { name: "flood-workspace", quota: 100 },
  perTarget: { name: "flood-target", quota: 5 },
} as const;
type Flood = (typeof FLOOD)[keyof typeof FLOOD];

/**
 * Workers' rate limiting bindings (`[[ratelimits]]` in wrangler.toml): a counter per
 * key, per Cloudflare location, over the binding's period. Approximate by design, which
 * suits flood protection. Its 429 tells the policy that refused, with nothing left.
 */
export async function limit(binding: RateLimit, key: string, policy: Flood) {
  const { success } = await binding.limit({ key });
  if (!success) {
    throw new ApiError(
      429,
      "rate_limited",
      "Too many requests; try again in a minute.",
      {},
      {
        "RateLimit-Policy": `"${policy.name}";q=${policy.quota};w=${PERIOD_SECONDS}`,
        RateLimit: `"${policy.name}";r=0;t=${PERIOD_SECONDS}`,
        "Retry-After": String(PERIOD_SECONDS),
      },
    );
  }
}

/**
 * The client's IP as Cloudflare's edge reports it (clients cannot set this header on
 * requests through Cloudflare). Absent only when the Worker is called directly, as
 * tests do.
 */
export const clientIp = (c: Bound) => c.req.header("CF-Connecting-IP");

/** Per-IP limit; skipped without a client IP (see `clientIp`). */
export async function limitPerIp(c: Bound, scope: string) {
  const ip = clientIp(c);
  if (ip) await limit(c.env.RATE_LIMIT_PER_IP, `${scope}:${ip}`, FLOOD.perIp);
}

/**
 * Per-target limit: what the request aims at, however many addresses it comes from (an
 * email in a workspace, a link's token). The key is a hash, so no address or token
 * reaches the counters as it is.
 */
export async function limitPerTarget(c: Bound, scope: string, target: string) {
  const key = await sha256Hex(`${scope}\n${target}`);
  await limit(c.env.RATE_LIMIT_PER_TARGET, `${scope}:${key.slice(0, 32)}`, FLOOD.perTarget);
}

/** Both limits of a public route that aims at one target: the client's IP first, then the target. */
export async function limitClientAndTarget(c: Bound, scope: string, target: string) {
  await limitPerIp(c, scope);
  await limitPerTarget(c, scope, target);
}
