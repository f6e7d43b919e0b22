import { exports } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { rows } from "../db";
import { addMember, call, newWorkspace, type Workspace } from "../helpers";
import { asBrowser, latestToken, requestSignInLink, sessionCookie } from "../links";

const MINUTE = 60_000;

const login = (ws: Workspace, email: string) => call("POST", "/v1/auth/login", { body: { workspace: ws.slug, email } });
const verify = (token: string) => call("POST", "/v1/auth/verify", { body: { token } });

/** Signs a member in by emailed link and returns the session cookie. */
async function signIn(ws: Workspace, email: string) {
  expect((await requestSignInLink(ws, email)).status).toBe(202);
  const res = await verify(await latestToken(ws, email));
  expect(res.status).toBe(200);
  return sessionCookie(res.headers);
}

afterEach(() => {
  vi.useRealTimers();
});

describe("sign-in by emailed link", () => {
  it("answers 202 with the same body for members, strangers and unknown workspaces", async () => {
    const ws = await newWorkspace();
    await addMember(ws, { email: "known@example.test" });
    const unknown = await login(ws, "nobody@example.test");
    const noWorkspace = await call("POST", "/v1/auth/login", {
      body: { workspace: "no-such-workspace-here", email: "known@example.test" },
    });
    // Last: once its link is in the outbox, the others' lookups (sent earlier) are done too.
    const known = await requestSignInLink(ws, "known@example.test");
    expect(known.status).toBe(202);
    expect(unknown.status).toBe(202);
    expect(noWorkspace.status).toBe(202);
    expect(unknown.body).toEqual(known.body);
    expect(noWorkspace.body).toEqual(known.body);
    const outbox = await call("GET", "/v1/outbox", { key: ws.key });
    expect(outbox.body.data.map((m: { to: string }) => m.to)).toEqual(["known@example.test"]);
  });

  it("answers a member's login and a stranger's alike, headers included", async () => {
    const ws = await newWorkspace();
    await addMember(ws, { email: "known@example.test" });
    const stranger = await login(ws, "stranger@example.test");
    const member = await requestSignInLink(ws, "known@example.test");
    // RateLimit says one request less for the second: the client's count, the same for any email.
    const headers = (res: { headers: Headers }) =>
      [...res.headers].filter(([name]) => name !== "date" && name !== "ratelimit");
    expect(member.status).toBe(stranger.status);
    expect(member.body).toEqual(stranger.body);
    expect(headers(member)).toEqual(headers(stranger));
  });

  it("signs in once per link; the cookie works on the API and logout ends it", async () => {
    const ws = await newWorkspace();
    await addMember(ws, { email: "mia@example.test", role: "manager" });
    await requestSignInLink(ws, "mia@example.test");
    const token = await latestToken(ws, "mia@example.test");
    const res = await verify(token);
    expect(res.status).toBe(200);
    expect(res.body.member).toMatchObject({ email: "mia@example.test", status: "active" });
    const cookie = sessionCookie(res.headers);
    expect(res.headers.get("Set-Cookie")).toMatch(/HttpOnly/);
    expect(res.headers.get("Set-Cookie")).toMatch(/SameSite=Lax/);
    expect(res.headers.get("Set-Cookie")).not.toMatch(/Secure/);

    const reused = await verify(token);
    expect(reused.status).toBe(409);
    expect(reused.body.error.code).toBe("link_used");

    expect((await call("GET", "/v1/members", { headers: { Cookie: cookie } })).status).toBe(200);
    const created = await call("POST", "/v1/members", {
      headers: asBrowser(cookie),
      body: { name: "Added by cookie", email: "added@example.test" },
    });
    expect(created.status).toBe(201);

    expect((await call("POST", "/v1/auth/logout", { headers: asBrowser(cookie) })).status).toBe(204);
    expect((await call("GET", "/v1/members", { headers: { Cookie: cookie } })).status).toBe(401);
  });

  it("refuses cookie-authenticated writes a browser sends from another site's page (CSRF), not a non-browser client's", async () => {
    const ws = await newWorkspace();
    await addMember(ws, { email: "csrf@example.test", role: "manager" });
    const cookie = await signIn(ws, "csrf@example.test");
    const write = (headers: Record<string, string>, email: string) =>
      call("POST", "/v1/members", { headers: { Cookie: cookie, ...headers }, body: { name: "Forged", email } });
    const fromElsewhere: Record<string, string>[] = [
      { Origin: "https://evil.example" },
      { Origin: "http://sibling.localhost" }, // same site, another origin: Lax still sends the cookie
      { Origin: "https://localhost" }, // same host, another scheme
      { Origin: "null" },
      { "Sec-Fetch-Site": "cross-site" },
      { "Sec-Fetch-Site": "same-site" },
    ];
    for (const headers of fromElsewhere) {
      const refused = await write(headers, "forged@example.test");
      expect(refused.status, JSON.stringify(headers)).toBe(403);
      expect(refused.body.error.code).toBe("csrf_rejected");
    }
    expect(await rows(ws.id, `select 1 from members where email = 'forged@example.test'`)).toEqual([]);
    // A client that is not a browser sends neither header: the cookie it was given works.
    expect((await write({}, "curl@example.test")).status).toBe(201);
    expect(
      (await write({ "Sec-Fetch-Site": "same-origin", Origin: "http://localhost" }, "page@example.test")).status,
    ).toBe(201);
    // API keys are not ambient credentials: no Origin needed.
    expect(
      (await call("POST", "/v1/members", { key: ws.key, body: { name: "K", email: "key@example.test" } })).status,
    ).toBe(201);
  });

  it("keeps links valid for 15 minutes, and not a second longer", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const start = Date.parse("2030-05-01T08:00:00.000Z");
    vi.setSystemTime(start);
    const ws = await newWorkspace();
    await addMember(ws, { email: "slow@example.test" });
    await addMember(ws, { email: "prompt@example.test" });
    await requestSignInLink(ws, "slow@example.test");
    await requestSignInLink(ws, "prompt@example.test");
    vi.setSystemTime(start + 15 * MINUTE - 1000);
    expect((await verify(await latestToken(ws, "prompt@example.test"))).status).toBe(200);
    vi.setSystemTime(start + 15 * MINUTE);
    const res = await verify(await latestToken(ws, "slow@example.test"));
    expect(res.status).toBe(410);
    expect(res.body.error.code).toBe("link_expired");
  });

  it("archiving a member ends their sessions, and archived members get no link", async () => {
    const ws = await newWorkspace();
    const member = await addMember(ws, { email: "leaver@example.test", role: "manager" });
    const cookie = await signIn(ws, "leaver@example.test");
    expect((await call("GET", "/v1/members", { headers: { Cookie: cookie } })).status).toBe(200);

    expect((await call("POST", `/v1/members/${member.id}/archive`, { key: ws.key })).status).toBe(200);
    expect((await call("GET", "/v1/members", { headers: { Cookie: cookie } })).status).toBe(401);

    // Unarchiving does not revive the old session.
    expect((await call("POST", `/v1/members/${member.id}/unarchive`, { key: ws.key })).status).toBe(200);
    expect((await call("GET", "/v1/members", { headers: { Cookie: cookie } })).status).toBe(401);

    await call("POST", `/v1/members/${member.id}/archive`, { key: ws.key });
    const before = await call("GET", "/v1/outbox?to=leaver@example.test", { key: ws.key });
    expect((await login(ws, "leaver@example.test")).status).toBe(202);
    // The link is sent after the answer: once the owner's link (asked for later) is out, the leaver's lookup is done.
    await requestSignInLink(ws, `owner@${ws.slug}.test`);
    const after = await call("GET", "/v1/outbox?to=leaver@example.test", { key: ws.key });
    expect(after.body.data).toHaveLength(before.body.data.length);
  });

  it("refuses a pending link once its member is archived", async () => {
    const ws = await newWorkspace();
    const member = await addMember(ws, { email: "late-leaver@example.test" });
    await requestSignInLink(ws, "late-leaver@example.test");
    const token = await latestToken(ws, "late-leaver@example.test");
    await call("POST", `/v1/members/${member.id}/archive`, { key: ws.key });
    const res = await verify(token);
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe("member_not_active");
  });

  it("answers malformed and unknown tokens with their own errors", async () => {
    expect((await verify("garbage")).status).toBe(400);
    expect((await verify(`lms_${"B".repeat(43)}`)).status).toBe(404);
  });

  it("marks the cookie Secure outside local http", async () => {
    const ws = await newWorkspace();
    await addMember(ws, { email: "tls@example.test" });
    await requestSignInLink(ws, "tls@example.test");
    const token = await latestToken(ws, "tls@example.test");
    const worker = (exports as unknown as { default: Fetcher }).default;
    const res = await worker.fetch(
      new Request("https://members.example.test/v1/auth/verify", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ token }),
      }),
    );
    expect(res.status).toBe(200);
    const cookie = res.headers.get("Set-Cookie") ?? "";
    expect(cookie).toMatch(/^__Host-lm_session=/);
    expect(cookie).toMatch(/Secure/);
    expect(cookie).toMatch(/HttpOnly/);
  });
});
