import type { Context } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import type { AppEnv } from "../app";
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
 * CSRF defence for cookie-authenticated writes. SameSite=Lax keeps the cookie off
 * cross-site POSTs; a page of a sibling on the same site (to which Lax still sends it) is
 * refused by the headers browsers add: Origin on every non-GET request and every
 * WebSocket handshake, Sec-Fetch-Site on every request. A client sending neither (curl,
 * a server, a test suite) is not a browser, carries no ambient credential, and may use
 * the cookie it was given (api.md: the session cookie authenticates like a key). API
 * keys need no such check.
 */
export function requireSameOrigin(c: Context<AppEnv>) {
  if (SAFE_METHODS.includes(c.req.method)) return;
  refuseForeignOrigin(c);
}

/** Refuses a request a browser made from a page of another origin (also login CSRF: signing a visitor in to the attacker's account). */
export function refuseForeignOrigin(c: Context<AppEnv>) {
  if (fromAnotherOrigin(c)) {
    throw new ApiError(403, "csrf_rejected", "Cookie-authenticated requests from a page of another site are refused.");
  }
}

/** Whether a browser says the request comes from a page of another origin (see requireSameOrigin). */
export function fromAnotherOrigin(c: Context<AppEnv>): boolean {
  const origin = c.req.header("Origin");
  if (origin !== undefined) {
    try {
      return new URL(origin).origin !== new URL(c.req.url).origin;
    } catch {
      return true; // "null" (sandboxed or privacy-sensitive contexts) names no origin of ours
    }
  }
  const site = c.req.header("Sec-Fetch-Site");
  return site !== undefined && site !== "same-origin" && site !== "none";
}

/** Where a link in a message should point: the configured public origin, or this request's. */
export function publicOrigin(c: Context<AppEnv>): string {
  const configured = (c.env as Env & { PUBLIC_ORIGIN?: string }).PUBLIC_ORIGIN;
  return configured ?? new URL(c.req.url).origin;
}
