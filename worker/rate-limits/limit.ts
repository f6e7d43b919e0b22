import type { Context } from "hono";
import type { AppEnv, Caller } from "../app";
import { ApiError } from "../lib/errors";
import { type Counted, WINDOW_SECONDS } from "./counter";

/** The policy's name in RateLimit-Policy and RateLimit. */
const POLICY = "credential";

/**
 * The header fields of draft-ietf-httpapi-ratelimit-headers-11 (structured fields):
 * the policy (quota `q` per window `w` seconds, partitioned by credential) and what is
 * left of it (`r` requests, `t` seconds until the window resets).
 */
function headersOf(counted: Counted): Record<string, string> {
  return {
    "RateLimit-Policy": `"${POLICY}";q=${counted.limit};w=${WINDOW_SECONDS}`,
    RateLimit: `"${POLICY}";r=${counted.remaining};t=${counted.resetSeconds}`,
  };
}

/**
 * Counts an authenticated `/v1` request against its credential's quota (each API key and
 * each session has its own, the workspace's `rateLimitPerMinute`), in the workspace's
 * object (./counter.ts). Over the quota: 429 with Retry-After, until the window resets.
 * Sets the header fields on the context, so every answer made through it carries them
 * (an error's too), and answers them for `withRateLimitHeaders`.
 */
export async function limitCredential(c: Context<AppEnv>, caller: Caller): Promise<Record<string, string>> {
  const credential = caller.keyId ? `key:${caller.keyId}` : `session:${caller.sessionId}`;
  const limit = caller.rateLimitPerMinute;
  if (limit === undefined) return {};
  const counted = await c.env.WORKSPACE.getByName(caller.workspaceId).countRequest(credential, limit);
  const headers = headersOf(counted);
  for (const [name, value] of Object.entries(headers)) c.header(name, value);
  if (!counted.allowed) {
    throw new ApiError(
      429,
      "rate_limited",
      `This credential made ${limit} requests this minute; try again in ${counted.resetSeconds} s.`,
      {},
      { ...headers, "Retry-After": String(counted.resetSeconds) },
    );
  }
  return headers;
}

/** Sets `headers` on the answer however it was made (a handler's, an error's, a replay's); not on a WebSocket's 101. */
export function withRateLimitHeaders(c: Context<AppEnv>, headers: Record<string, string>) {
  if (c.res.status === 101) return;
  try {
    for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value);
  } catch {
    // Immutable headers (a fetched response's): copy the response.
    c.res = new Response(c.res.body, c.res);
    for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value);
  }
}
