import { describe, expect, it } from "vitest";
import { expireQuietAnonymous } from "../../worker/anonymous/expire";
import { createAction, eventually, mockReceiver } from "../actions/helpers";
import { shardDb } from "../db";
import { addMember, call, newWorkspace, type Workspace } from "../helpers";
import { csv, importCsv } from "../imports/helpers";
import { asBrowser, signIn } from "../links";
import { openLive, waitFor } from "../live/sockets";
import { configureSms, newNumber, postInbound, smsParams } from "../provider/twilio";

type Actor = { type: string; id?: string; name?: string; key?: { id: string; name?: string }; by?: { id: string } };
type Event = { seq: number; type: string; data: Record<string, unknown>; actor: Actor };

/** Every event of `type` the owner's key reads through GET /v1/events. */
async function eventsOfType(ws: Workspace, type: string): Promise<Event[]> {
  const res = await call("GET", `/v1/events?type=${type}&limit=100`, { key: ws.key });
  expect(res.status).toBe(200);
  return res.body.data;
}

const ownerKeyId = async (ws: Workspace) =>
  (await call("GET", "/v1/api-keys", { key: ws.key })).body.data.find(
    (k: { memberId: string }) => k.memberId === ws.ownerId,
  );

describe("the actor of every event", () => {
  it("names the member and the API key (its id and name, never its token) for a change made with a key", async () => {
    const ws = await newWorkspace();
    const member = await addMember(ws, { email: "ann@example.test" });
    const [created] = (await eventsOfType(ws, "member.created")).filter(
      (e) => (e.data.member as { id: string }).id === member.id,
    );
    const key = await ownerKeyId(ws);
    expect(created?.actor).toEqual({
      type: "member",
      id: ws.ownerId,
      name: "Olive Owner",
      key: { id: key.id, name: key.name },
    });
    expect(JSON.stringify(created)).not.toContain(ws.key);
  });

  it("names the member without a key for a change made in a session, also on the live stream", async () => {
    const ws = await newWorkspace();
    const socket = await openLive({ key: ws.key });
    const cookie = await signIn(ws, `owner@${ws.slug}.test`);
    const res = await call("POST", "/v1/labels", { headers: asBrowser(cookie), body: { name: "Gold" } });
    expect(res.status).toBe(201);
    const [label] = await eventsOfType(ws, "label.created");
    expect(label?.actor).toEqual({ type: "member", id: ws.ownerId, name: "Olive Owner" });
    await waitFor("the live label.created", () =>
      socket.messages.some((m) => "seq" in m && m.type === "label.created"),
    );
    const live = socket.messages.find((m) => "seq" in m && m.type === "label.created") as unknown as Event;
    expect(live.actor).toEqual(label?.actor);
    const [signedIn] = await eventsOfType(ws, "session.created");
    expect(signedIn?.actor).toMatchObject({ type: "member", id: ws.ownerId });
    socket.ws.close();
  });

  it("names the platform for what the platform token made: the workspace's owner and first key", async () => {
    const ws = await newWorkspace();
    const [owner] = await eventsOfType(ws, "member.created");
    expect(owner?.data.member).toMatchObject({ id: ws.ownerId });
    expect(owner?.actor).toEqual({ type: "platform" });
    const [key] = await eventsOfType(ws, "api_key.created");
    expect(key?.actor).toEqual({ type: "platform" });
  });

  it("names a visitor as public for a join request", async () => {
    const ws = await newWorkspace({ allowJoinRequests: true });
    const res = await call("POST", `/public/${ws.slug}/join-requests`, {
      body: { name: "Jo Joiner", email: "jo@example.test" },
      headers: { "CF-Connecting-IP": "10.9.8.7" },
    });
    expect(res.status).toBe(202);
    const [request] = await eventsOfType(ws, "join_request.created");
    expect(request?.actor).toEqual({ type: "public" });
  });

  it("names the provider for an inbound SMS, with the message's SID", async () => {
    const ws = await newWorkspace();
    await configureSms(ws);
    const params = smsParams(newNumber(), "Hello");
    expect((await postInbound(ws.id, "sms", params)).status).toBeLessThan(300);
    const [received] = await eventsOfType(ws, "message.received");
    expect(received?.actor).toEqual({ type: "provider", id: params.MessageSid, name: "twilio" });
    const created = (await eventsOfType(ws, "member.created")).find(
      (e) => (e.data.member as { status: string }).status === "anonymous",
    );
    expect(created?.actor).toEqual(received?.actor);
  });

  it("names the import and its importer for the members an import writes", async () => {
    const ws = await newWorkspace();
    const done = await importCsv(ws, csv("email,name", "imp1@example.test,Imp One", "imp2@example.test,Imp Two"));
    const created = await eventsOfType(ws, "member.created");
    const imported = created.filter((e) => (e.data.member as { email: string }).email.startsWith("imp"));
    expect(imported).toHaveLength(2);
    for (const e of imported) expect(e.actor).toEqual({ type: "import", id: done.id, by: { id: ws.ownerId } });
  });

  it("names the action for the labels an action gives", async () => {
    const ws = await newWorkspace();
    const action = await createAction(ws, { trigger: "member.created", action: { type: "label", add: ["new"] } });
    await addMember(ws, { email: "ann@example.test" });
    let labeled: Event[] = [];
    await eventually("the action's label", async () => {
      labeled = await eventsOfType(ws, "member.labeled");
      return labeled.length > 0;
    });
    expect(labeled[0]?.actor).toEqual({ type: "action", id: action.id, name: action.name });
  });

  it("sends the actor in a webhook's payload, as the events API shows it", async () => {
    const { url, received } = mockReceiver();
    const ws = await newWorkspace();
    await createAction(ws, { trigger: "member.created", action: { type: "webhook", url } });
    const member = await addMember(ws, { email: "hooked@example.test" });
    await eventually("the delivery", async () => received.length === 1);
    const payload = JSON.parse(received[0]?.body ?? "{}");
    const [created] = (await eventsOfType(ws, "member.created")).filter(
      (e) => (e.data.member as { id: string }).id === member.id,
    );
    expect(payload.actor).toEqual(created?.actor);
    expect(payload.actor).toMatchObject({ type: "member", id: ws.ownerId });
  });

  it("names the system for an anonymous member's expiry by the Cron job", async () => {
    const ws = await newWorkspace();
    await configureSms(ws, { anonymousExpiryDays: 1 });
    expect((await postInbound(ws.id, "sms", smsParams(newNumber(), "Hi"))).status).toBeLessThan(300);
    await expireQuietAnonymous(await shardDb(ws.id), Date.now() + 3 * 86_400_000);
    const [expired] = await eventsOfType(ws, "member.expired");
    expect(expired?.actor).toEqual({ type: "system" });
  });
});
