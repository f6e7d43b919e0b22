import type { Context } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import type { AppEnv } from "../lib/app";
import { ApiError } from "../lib/errors";

export const SESSION_DAYS = 30;

/** Plain http is allowed only for local development (wrangler dev, tests). */
export function isLocalHttp(url: string): boolean {
  const { protocol, hostname } = new URL(url);
  return protocol === "http:" && ["localhost", "127.0.0.1", "[::1]"].includes(hostname);
}

/**
 * `__Host-` binds the cookie to this exact host over HTTPS (no Domain, Path=/), so a
 * sibling subdomain cannot plant one; browsers refuse that prefix without Secure, so
 * local http uses a plain name.
 */
export const cookieName = (url: string) => (isLocalHttp(url) ? "lm_session" : "__Host-lm_session");

export function readSessionCookie(c: Context<AppEnv>): string | undefined {
  return getCookie(c, cookieName(c.req.url)) || undefined;
}

export function setSessionCookie(c: Context<AppEnv>, token: string) {
  setCookie(c, cookieName(c.req.url), token, {
    path: "/",
    httpOnly: true,
    secure: !isLocalHttp(c.req.url),
    sameSite: "Lax",
    maxAge: SESSION_DAYS * 86_400,
  });
}

export function clearSessionCookie(c: Context<AppEnv>) {
  setCookie(c, cookieName(c.req.url), "", {
    path: "/",
    httpOnly: true,
    secure: !isLocalHttp(c.req.url),
    sameSite: "Lax",
    maxAge: 0,
  });
}

const SAFE_METHODS = ["GET", "HEAD", "OPTIONS"];

/**
 * CSRF defence for cookie-authenticated writes: browsers send `Origin` on every
 * cross-origin request and on same-origin non-GET requests, so a write must come with
 * an Origin naming this host. SameSite=Lax already keeps the cookie off cross-site
 * POSTs; this also covers same-site siblings and older browsers. API keys are not
 * ambient credentials and need no such check.
 */
export function requireSameOrigin(c: Context<AppEnv>) {
  if (SAFE_METHODS.includes(c.req.method)) return;
  if (!fromThisSite(c)) {
    throw new ApiError(403, "csrf_rejected", "Cookie-authenticated writes need an Origin header naming this site.");
  }
}

/**
 * Browsers send Origin on cross-site POSTs: a page elsewhere must not sign a visitor in
 * to an account of the attacker's choosing (login CSRF). Clients without Origin (curl,
 * servers) are not browsers and carry no ambient credential.
 */
export function refuseForeignOrigin(c: Context<AppEnv>) {
  if (c.req.header("Origin") !== undefined) requireSameOrigin(c);
}

/** Whether the request's Origin names this host (browsers send it on every WebSocket handshake). */
export function fromThisSite(c: Context<AppEnv>): boolean {
  const origin = c.req.header("Origin");
  try {
    return origin !== undefined && new URL(origin).host === new URL(c.req.url).host;
  } catch {
    return false;
  }
}

/** Where a link in a message should point: the configured public origin, or this request's. */
export function publicOrigin(c: Context<AppEnv>): string {
  const configured = (c.env as Env & { PUBLIC_ORIGIN?: string }).PUBLIC_ORIGIN;
  return configured ?? new URL(c.req.url).origin;
}
