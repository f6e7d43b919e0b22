import type { Context } from "hono";
import type { AppEnv, Caller } from "../app";
import { ApiError, handleError } from "../lib/errors";
import { clientIp } from "../lib/rate-limit";
import { type Counted, WINDOW_SECONDS } from "./counter";

/**
 * The policies' names in RateLimit-Policy and RateLimit: each API key and session of a
 * workspace ("credential"), the platform token ("platform"), and each client IP for what
 * no credential answers for: public routes and refusals before a credential is known
 * ("client").
 */
type Policy = "credential" | "platform" | "client";

/** Requests per minute of each client IP and of the platform token, unless the environment sets them. */
const CLIENT_LIMIT = 600;
const PLATFORM_LIMIT = 6000;

type LimitEnv = Partial<{ CLIENT_RATE_LIMIT_PER_MINUTE: string; PLATFORM_RATE_LIMIT_PER_MINUTE: string }>;
const configured = (value: string | undefined, fallback: number) => {
  const n = Number(value);
  return Number.isInteger(n) && n > 0 ? n : fallback;
};

/**
 * The header fields of draft-ietf-httpapi-ratelimit-headers-11 (structured fields):
 * the policy (quota `q` per window `w` seconds) and what is left of it (`r` requests,
 * `t` seconds until the window resets).
 */
export function rateLimitHeaders(policy: string, counted: Counted): Record<string, string> {
  return {
    "RateLimit-Policy": `"${policy}";q=${counted.limit};w=${WINDOW_SECONDS}`,
    RateLimit: `"${policy}";r=${counted.remaining};t=${counted.resetSeconds}`,
  };
}

/** The 429 of a counter past its quota: the header fields, and Retry-After until the window resets. */
function refusal(policy: Policy, counted: Counted, headers: Record<string, string>) {
  const who = { credential: "This credential", platform: "The platform token", client: "This client address" }[policy];
  return new ApiError(
    429,
    "rate_limited",
    `${who} made ${counted.limit} requests this minute; try again in ${counted.resetSeconds} s.`,
    {},
    { ...headers, "Retry-After": String(counted.resetSeconds) },
  );
}

/**
 * Sets the header fields on the context, so every answer made through it carries them (an
 * error's too), and answers them for `withRateLimitHeaders`; over the quota, throws 429.
 */
function enforce(c: Context<AppEnv>, policy: Policy, counted: Counted): Record<string, string> {
  const headers = rateLimitHeaders(policy, counted);
  for (const [name, value] of Object.entries(headers)) c.header(name, value);
  if (!counted.allowed) throw refusal(policy, counted, headers);
  return headers;
}

/**
 * Counts an authenticated `/v1` request against its credential's quota (each API key and
 * each session has its own, the workspace's `rateLimitPerMinute`), in the workspace's
 * object (./counter.ts). Over the quota: 429 with Retry-After, until the window resets.
 */
export async function limitCredential(c: Context<AppEnv>, caller: Caller): Promise<Record<string, string>> {
  const credential = caller.keyId ? `key:${caller.keyId}` : `session:${caller.sessionId}`;
  const limit = caller.rateLimitPerMinute;
  if (limit === undefined) return {};
  const counted = await c.env.WORKSPACE.getByName(caller.workspaceId).countRequest(credential, limit);
  return enforce(c, "credential", counted);
}

/** Counts a request of the platform token (one counter, PLATFORM_RATE_LIMIT_PER_MINUTE, 6,000 unless set). */
export async function limitPlatform(c: Context<AppEnv>): Promise<Record<string, string>> {
  const limit = configured((c.env as LimitEnv).PLATFORM_RATE_LIMIT_PER_MINUTE, PLATFORM_LIMIT);
  return enforce(c, "platform", await c.env.RATE_COUNTER.getByName("platform").count(limit));
}

/**
 * Counts a request against its client IP's quota (CLIENT_RATE_LIMIT_PER_MINUTE, 600 unless
 * set), in the IP's own object (durable-objects/rate-counter.ts). A request without a
 * client IP (the Worker called directly, never through Cloudflare's edge) counts under one
 * shared name.
 */
async function countClient(c: Context<AppEnv>): Promise<Counted> {
  const limit = configured((c.env as LimitEnv).CLIENT_RATE_LIMIT_PER_MINUTE, CLIENT_LIMIT);
  return c.env.RATE_COUNTER.getByName(`ip:${clientIp(c) ?? "direct"}`).count(limit);
}

/** A public `/v1` route's request, counted per client IP before it runs: over the quota, 429. */
export async function limitClient(c: Context<AppEnv>): Promise<Record<string, string>> {
  return enforce(c, "client", await countClient(c));
}

/**
 * Middleware on `/v1/*`: an answer that no counter told (a refusal before any credential
 * was accepted: 401, an unknown route's 404, a body past the limit's 413) is counted
 * against the client IP and carries its header fields; a refusal from an IP past its quota
 * becomes its 429 (nothing ran). A WebSocket's 101 stays as it is.
 */
export async function rateLimitEveryAnswer(c: Context<AppEnv>, next: () => Promise<void>) {
  await next();
  if (c.res.status === 101 || c.res.headers.has("RateLimit")) return;
  const counted = await countClient(c);
  const headers = rateLimitHeaders("client", counted);
  if (!counted.allowed && c.res.status >= 400) {
    c.res = handleError(refusal("client", counted, headers), c);
    return;
  }
  withRateLimitHeaders(c, headers);
}

/**
 * Sets `headers` on the answer however it was made (a handler's, an error's, a replay's);
 * not on a WebSocket's 101, nor on a 429 that tells the policy that refused it (a public
 * route's flood protection, worker/lib/rate-limit.ts).
 */
export function withRateLimitHeaders(c: Context<AppEnv>, headers: Record<string, string>) {
  if (c.res.status === 101 || (c.res.status === 429 && c.res.headers.has("Retry-After"))) return;
  try {
    for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value);
  } catch {
    // Immutable headers (a fetched response's): copy the response.
    c.res = new Response(c.res.body, c.res);
    for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value);
  }
}
