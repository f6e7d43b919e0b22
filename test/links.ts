import { call, type Workspace } from "./helpers";

/** The token of the newest link the outbox holds for `to` (email or phone). */
export async function latestToken(ws: Workspace, to: string): Promise<string> {
  const res = await call("GET", `/v1/outbox?to=${encodeURIComponent(to)}`, { key: ws.key });
  if (res.status !== 200) throw new Error(`outbox failed: ${res.status} ${JSON.stringify(res.body)}`);
  const text: string | undefined = res.body.data[0]?.text;
  const token = text && /#token=([\w-]+)/.exec(text)?.[1];
  if (!token) throw new Error(`no link for ${to} in the outbox`);
  return token;
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
