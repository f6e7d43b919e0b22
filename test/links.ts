import { call, type Workspace } from "./helpers";
import { waitFor } from "./wait";

/** The messages the outbox holds for `to` (email or phone), newest first, as the owner's key reads them. */
export async function outboxTo(ws: Workspace, to: string): Promise<{ channel: string; to: string; text: string }[]> {
  const res = await call("GET", `/v1/outbox?to=${encodeURIComponent(to)}`, { key: ws.key });
  if (res.status !== 200) throw new Error(`outbox failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.data;
}

/**
 * The token of the newest link the outbox holds for `to`, waiting for the first one: a
 * sign-in link is sent after the login's answer (waitUntil).
 */
export async function latestToken(ws: Workspace, to: string): Promise<string> {
  let token: string | undefined;
  await waitFor(`a link for ${to} in the outbox`, async () => {
    token = /#token=([\w.-]+)/.exec((await outboxTo(ws, to))[0]?.text ?? "")?.[1];
    return token !== undefined;
  });
  return token as string;
}

/**
 * Asks for a sign-in link and waits until it is in the outbox (it is sent after the
 * answer); answers the login's response.
 */
export async function requestSignInLink(ws: Workspace, email: string, headers?: Record<string, string>) {
  const before = (await outboxTo(ws, email)).length;
  const res = await call("POST", "/v1/auth/login", { body: { workspace: ws.slug, email }, headers });
  if (res.status === 202)
    await waitFor(`a sign-in link to ${email}`, async () => (await outboxTo(ws, email)).length > before);
  return res;
}

/** The `name=value` pair of the session cookie a response set, to send back as `Cookie`. */
export function sessionCookie(headers: Headers): string {
  const cookie = headers.getSetCookie().find((c) => c.includes("lm_session="));
  if (!cookie) throw new Error("no session cookie was set");
  return cookie.split(";")[0] ?? "";
}

/** Headers of a same-origin browser request carrying the cookie. */
export const asBrowser = (cookie: string) => ({ Cookie: cookie, Origin: "http://localhost" });

/** Signs a member in by emailed link (login, then verify) and returns the session cookie. */
export async function signIn(ws: Workspace, email: string): Promise<string> {
  const login = await call("POST", "/v1/auth/login", { body: { workspace: ws.slug, email } });
  if (login.status !== 202) throw new Error(`login failed: ${login.status} ${JSON.stringify(login.body)}`);
  const verified = await call("POST", "/v1/auth/verify", { body: { token: await latestToken(ws, email) } });
  if (verified.status !== 200) throw new Error(`verify failed: ${verified.status} ${JSON.stringify(verified.body)}`);
  return sessionCookie(verified.headers);
}
