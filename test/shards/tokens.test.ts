import { describe, expect, it } from "vitest";
import { createAction, eventually } from "../actions/helpers";
import { confirmChange, startedChange } from "../credentials/helpers";
import { addMember, addRole, call, keyForRole, newWorkspace, type Workspace } from "../helpers";
import { asBrowser, latestToken, requestSignInLink, sessionCookie } from "../links";
import { connectLive } from "../live/sockets";

const ulidOf = (ws: Workspace) => ws.id.slice("ws_".length);
/** `<prefix>_<the workspace's ULID>.<32 random bytes, base64url>`. */
const routed = (prefix: string, ws: Workspace) => new RegExp(`^${prefix}_${ulidOf(ws)}\\.[A-Za-z0-9_-]{43}$`);
/** The token with another routing part, its secret kept. */
const rerouted = (token: string, ulid: string) => token.replace(/^([a-z]+)_[0-9A-Z]{26}\./, `$1_${ulid}.`);
/** A well-formed ULID no workspace has. */
const NOBODY = "01ARZ3NDEKTSV4RRFFQ69G5FAV";

/** Two workspaces, one on each shard, and a session of the first one's owner. */
async function twoShards() {
  const [a, b] = [await newWorkspace({ shard: 0 }), await newWorkspace({ shard: 1 })];
  await requestSignInLink(a, `owner@${a.slug}.test`);
  const signInToken = await latestToken(a, `owner@${a.slug}.test`);
  const verified = await call("POST", "/v1/auth/verify", { body: { token: signInToken } });
  expect(verified.status).toBe(200);
  return { a, b, signInToken, cookie: sessionCookie(verified.headers) };
}

describe("every token issued names its workspace", () => {
  it("API keys, sessions, live tickets, invitation, sign-in and credential-change links", async () => {
    const { a, signInToken, cookie } = await twoShards();
    expect(a.key).toMatch(routed("lmk", a));
    expect((await call("POST", "/v1/api-keys", { key: a.key, body: { name: "More" } })).body.key).toMatch(
      routed("lmk", a),
    );
    expect(signInToken).toMatch(routed("lms", a));
    expect(cookie.split("=")[1]).toMatch(routed("lmc", a));
    const ticket = await call("POST", "/v1/live/tickets", { key: a.key });
    expect(ticket.body.ticket).toMatch(routed("lt", a));
    await call("POST", "/v1/invitations", { key: a.key, body: { email: "ivy@tokens.test" } });
    expect(await latestToken(a, "ivy@tokens.test")).toMatch(routed("lmi", a));
    const member = await addMember(a, { email: "old@tokens.test" });
    const { token } = await startedChange(a, member.id, { kind: "email", value: "new@tokens.test" }, "old@tokens.test");
    expect(token).toMatch(routed("lmx", a));
  });
});

describe("a token whose routing part was changed finds nothing", () => {
  it("an API key or a session cookie sent to another workspace, or to none: 401", async () => {
    const { a, b, cookie } = await twoShards();
    for (const ulid of [ulidOf(b), NOBODY]) {
      expect((await call("GET", "/v1/members", { key: rerouted(a.key, ulid) })).status).toBe(401);
      const [name, value = ""] = cookie.split("=");
      const forged = asBrowser(`${name}=${rerouted(value, ulid)}`);
      expect((await call("GET", "/v1/members", { headers: forged })).status).toBe(401);
    }
    // The same secret without its routing part is no legacy token either.
    expect((await call("GET", "/v1/members", { key: a.key.replace(/_[0-9A-Z]{26}\./, "_") })).status).toBe(401);
    expect((await call("GET", "/v1/members", { key: a.key })).status).toBe(200);
  });

  it("invitation, sign-in and credential-change links: 404 unknown_token, and the real link still works", async () => {
    const { a, b } = await twoShards();
    await call("POST", "/v1/invitations", { key: a.key, body: { email: "ivy@forged.test" } });
    const invitation = await latestToken(a, "ivy@forged.test");
    await requestSignInLink(a, `owner@${a.slug}.test`);
    const signIn = await latestToken(a, `owner@${a.slug}.test`);
    const member = await addMember(a, { email: "old@forged.test" });
    const change = await startedChange(a, member.id, { kind: "email", value: "new@forged.test" }, "old@forged.test");

    const redeem = {
      invitation: (token: string) => call("POST", "/v1/invitations/accept", { body: { token } }),
      signIn: (token: string) => call("POST", "/v1/auth/verify", { body: { token } }),
      preview: (token: string) => call("POST", "/v1/credential-changes/preview", { body: { token } }),
      change: (token: string) => confirmChange(token),
    };
    const tokens = { invitation, signIn, preview: change.token, change: change.token };
    for (const [kind, send] of Object.entries(redeem)) {
      const token = tokens[kind as keyof typeof tokens];
      for (const ulid of [ulidOf(b), NOBODY]) {
        const res = await send(rerouted(token, ulid));
        expect(res.status, kind).toBe(404);
        expect(res.body.error.code, kind).toBe("unknown_token");
      }
      expect((await send(token)).status, kind).toBe(200);
    }
  });

  it("a live ticket: 401 invalid_ticket, and the real ticket still opens the stream", async () => {
    const { a, b } = await twoShards();
    const { ticket } = (await call("POST", "/v1/live/tickets", { key: a.key })).body;
    for (const ulid of [ulidOf(b), NOBODY]) {
      const forged = await connectLive({ token: rerouted(ticket, ulid) });
      expect(forged.refused?.status).toBe(401);
      expect(await forged.refused?.json()).toMatchObject({ error: { code: "invalid_ticket" } });
    }
    const real = await connectLive({ token: ticket });
    expect(real.socket).toBeDefined();
    real.socket?.ws.close();
  });
});

describe("link tokens of both forms are read", () => {
  it.each([
    ["/v1/invitations/accept", "lmi"],
    ["/v1/auth/verify", "lms"],
    ["/v1/credential-changes/confirm", "lmx"],
    ["/v1/credential-changes/preview", "lmx"],
  ])("%s: an unknown token, routed or legacy, is 404; a malformed one 400", async (path, prefix) => {
    // Random: per-target rate limits count each token, whichever test sends it.
    const secret = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))
      .replace(/[+/=]/g, (ch) => ({ "+": "-", "/": "_", "=": "" })[ch] ?? "")
      .slice(0, 43);
    for (const token of [`${prefix}_${secret}`, `${prefix}_${NOBODY}.${secret}`]) {
      const res = await call("POST", path, { body: { token } });
      expect(res.status, token).toBe(404);
      expect(res.body.error.code).toBe("unknown_token");
    }
    for (const token of [`${prefix}_${NOBODY}.${secret.slice(1)}`, `${prefix}_${NOBODY.toLowerCase()}.${secret}`]) {
      const res = await call("POST", path, { body: { token } });
      expect(res.status, token).toBe(400);
      expect(res.body.error.code).toBe("malformed_token");
    }
  });
});

describe("the outbox, for a caller who may not follow a message's links", () => {
  it("hides a token written outside a link whole, its secret after the routing part too", async () => {
    const ws = await newWorkspace();
    await addRole(ws, "it-admin", ["workspace:admin"]);
    const { key } = await keyForRole(ws, "it-admin");
    const secret = "S".repeat(43);
    await createAction(ws, {
      trigger: "member.created",
      action: { type: "email", text: `Your key: lmk_${ulidOf(ws)}.${secret} (keep it)` },
    });
    const boss = await addMember(ws, { email: "boss@bare.test", role: "manager" });
    const read = async (as: string) =>
      (await call("GET", `/v1/outbox?to=${encodeURIComponent(boss.email)}`, { key: as })).body.data as {
        text: string;
        linksRemoved: boolean;
      }[];
    await eventually("the email", async () => (await read(ws.key)).length === 1);
    const [seen] = await read(key);
    expect(seen).toMatchObject({ text: "Your key: [link removed] (keep it)", linksRemoved: true });
    expect((await read(ws.key))[0]?.text).toContain(secret);
  });
});
