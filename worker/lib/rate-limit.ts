import type { Context } from "hono";
import type { AppEnv } from "./app";
import { ApiError } from "./errors";

/**
 * Workers' rate limiting bindings (`[[ratelimits]]` in wrangler.toml): a counter per
 * key, per Cloudflare location, over the binding's period. Approximate by design, which
 * suits flood protection.
 */
export async function limit(binding: RateLimit, key: string) {
  const { success } = await binding.limit({ key });
  if (!success) throw new ApiError(429, "rate_limited", "Too many requests; try again in a minute.");
}

/**
 * The client's IP as Cloudflare's edge reports it (clients cannot set this header on
 * requests through Cloudflare). Absent only when the Worker is called directly, as
 * tests do.
 */
export const clientIp = (c: Context<AppEnv>) => c.req.header("CF-Connecting-IP");

/** Per-IP limit; skipped without a client IP (see `clientIp`). */
export async function limitPerIp(c: Context<AppEnv>, scope: string) {
  const ip = clientIp(c);
  if (ip) await limit(c.env.RATE_LIMIT_PER_IP, `${scope}:${ip}`);
}
