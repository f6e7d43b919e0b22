import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createAction, deliveries, eventually, mockReceiver } from "../actions/helpers";
import { confirmChange, startedChange } from "../credentials/helpers";
import { eventsOf, rowsOnEveryShard } from "../db";
import { addMember, call, newWorkspace, PLATFORM_TOKEN } from "../helpers";
import { importCsv } from "../imports/helpers";
import { asBrowser, latestToken, requestSignInLink, sessionCookie } from "../links";
import { openLive, waitFor } from "../live/sockets";
import { configureSms, newNumber, postInbound, smsParams } from "../provider/twilio";

/** How many shards hold the workspace's `workspaces` row. */
async function shardsHolding(workspaceId: string) {
  const found = await rowsOnEveryShard<{ id: string }>("select id from workspaces where id = ?", workspaceId);
  return found.length;
}

describe("a workspace on the second shard (SHARD_1)", () => {
  it("keeps its rows there and nowhere else, and says so in GET /v1/workspace", async () => {
    const ws = await newWorkspace({ shard: 1 });
    expect((await call("GET", "/v1/workspace", { key: ws.key })).body).toMatchObject({ id: ws.id, shard: 1 });
    expect(await shardsHolding(ws.id)).toBe(1);
    const stored = await env.SHARD_1.prepare("select id from workspaces where id = ?").bind(ws.id).all();
    expect(stored.results).toEqual([{ id: ws.id }]);
  });

  it("works with its API keys, a session cookie, and a live ticket through a socket", async () => {
    const ws = await newWorkspace({ shard: 1 });
    const key = await call("POST", "/v1/api-keys", { key: ws.key, body: { name: "Second" } });
    expect(key.status).toBe(201);
    expect((await call("GET", "/v1/members", { key: key.body.key })).status).toBe(200);

    await requestSignInLink(ws, `owner@${ws.slug}.test`);
    const verified = await call("POST", "/v1/auth/verify", {
      body: { token: await latestToken(ws, `owner@${ws.slug}.test`) },
    });
    expect(verified.status).toBe(200);
    const cookie = sessionCookie(verified.headers);
    expect((await call("GET", "/v1/members", { headers: asBrowser(cookie) })).status).toBe(200);

    const ticket = await call("POST", "/v1/live/tickets", { headers: asBrowser(cookie) });
    expect(ticket.status).toBe(201);
    const socket = await openLive({ token: ticket.body.ticket });
    const member = await addMember(ws, { email: "seen@second.test" });
    await waitFor("the member's event on the socket", () =>
      socket.messages.some((m) => "seq" in m && m.type === "member.created"),
    );
    const created = socket.messages.find((m) => "seq" in m && m.type === "member.created");
    expect(JSON.stringify(created)).toContain(member.id);
    socket.ws.close();
  });

  it("accepts an invitation, and confirms a credential change, by their links", async () => {
    const ws = await newWorkspace({ shard: 1 });
    const invited = await call("POST", "/v1/invitations", { key: ws.key, body: { email: "ivy@second.test" } });
    expect(invited.status).toBe(201);
    const accepted = await call("POST", "/v1/invitations/accept", {
      body: { token: await latestToken(ws, "ivy@second.test") },
    });
    expect(accepted.status).toBe(200);
    expect(accepted.body.member).toMatchObject({ email: "ivy@second.test", status: "active" });

    const member = await addMember(ws, { email: "old@second.test" });
    const { token } = await startedChange(
      ws,
      member.id,
      { kind: "email", value: "new@second.test" },
      "old@second.test",
    );
    const preview = await call("POST", "/v1/credential-changes/preview", { body: { token } });
    expect(preview.body).toMatchObject({ oldValue: "old@second.test", newValue: "new@second.test" });
    const confirmed = await confirmChange(token);
    expect(confirmed.status).toBe(200);
    expect(confirmed.body.member.email).toBe("new@second.test");
  });

  it("takes a join request by its slug, and an inbound SMS by its id in the webhook's URL", async () => {
    const ws = await newWorkspace({ shard: 1, allowJoinRequests: true });
    const joined = await call("POST", `/public/${ws.slug}/join-requests`, {
      body: { name: "Jo", email: "jo@second.test" },
    });
    expect(joined.status).toBe(202);
    const requests = await call("GET", "/v1/join-requests?status=pending", { key: ws.key });
    expect(requests.body.data.map((r: { email: string }) => r.email)).toEqual(["jo@second.test"]);

    await configureSms(ws);
    const phone = newNumber();
    expect((await postInbound(ws.id, "sms", smsParams(phone, "hello from shard 1"))).status).toBe(200);
    const anonymous = await call("GET", "/v1/members?status=anonymous", { key: ws.key });
    expect(anonymous.body.data.map((m: { phone: string }) => m.phone)).toEqual([phone]);
  });

  it("runs an import and an action's webhook through their queues", async () => {
    const ws = await newWorkspace({ shard: 1 });
    const { url, received } = mockReceiver();
    const action = await createAction(ws, { trigger: "member.created", action: { type: "webhook", url } });
    const done = await importCsv(ws, "email,name\r\nann@second.test,Ann\r\nbob@second.test,Bob\r\n");
    expect(done).toMatchObject({ status: "completed", created: 2 });
    await eventually("both deliveries", async () => received.length === 2);
    expect((await deliveries(ws, action.id)).every((d: { status: string }) => d.status === "succeeded")).toBe(true);
    expect((await eventsOf(ws.id)).filter((e) => e.type === "member.created")).toHaveLength(3);
  });

  it("is not created when the platform names a shard that does not exist: 422, nothing written", async () => {
    const slug = `nowhere-${crypto.randomUUID().slice(0, 8)}`;
    const res = await call("POST", "/v1/workspaces", {
      key: PLATFORM_TOKEN,
      body: { name: "Nowhere", slug, owner: { name: "No One", email: "no@one.test" }, shard: 7 },
    });
    expect(res.status).toBe(422);
    expect(res.body.error).toMatchObject({ code: "validation_failed", issues: [{ path: "shard" }] });
    expect(await rowsOnEveryShard("select id from workspaces where slug = ?", slug)).toEqual([]);
    const retried = await call("POST", "/v1/workspaces", {
      key: PLATFORM_TOKEN,
      body: { name: "Somewhere", slug, owner: { name: "Some One", email: "some@one.test" }, shard: 0 },
    });
    expect(retried.status).toBe(201);
    expect(retried.body.workspace.shard).toBe(0);
  });
});
