import { describe, expect, it } from "vitest";
import { logHead } from "../db";
import { addMember, addRole, call, keyForRole, newWorkspace, type Workspace } from "../helpers";
import { mintKeyFor } from "../mint-key";
import { ACCOUNT_SID, configureSms } from "../provider/twilio";
import { type LiveSocket, openLive, waitFor } from "./sockets";

type Event = { seq: number; type: string; data: { member?: { id?: string } } };
const events = (s: LiveSocket) => s.messages.filter((m) => "seq" in m) as unknown as Event[];
const types = (s: LiveSocket) => events(s).map((e) => e.type);

const HOOK = "https://hooks.example.test/secret-path-of-the-integrator";
const JOINER = "joiner@private.example.test";

/** One change of each family that is not about members, each with what it must not leak. */
async function changeEveryFamily(ws: Workspace) {
  const action = await call("POST", "/v1/actions", {
    key: ws.key,
    body: { name: "Notify", trigger: "member.archived", action: { type: "webhook", url: HOOK } },
  });
  expect(action.status).toBe(201);
  const request = await call("POST", `/public/${ws.slug}/join-requests`, {
    body: { name: "Jo Joiner", email: JOINER, phone: "+14155550199" },
    headers: { "CF-Connecting-IP": `10.7.${Math.floor(Math.random() * 255)}.${Math.floor(Math.random() * 255)}` },
  });
  expect(request.status).toBe(202);
  await configureSms(ws);
  expect((await call("POST", "/v1/labels", { key: ws.key, body: { name: "Gold" } })).status).toBe(201);
  await addRole(ws, "temp", ["members:read"]);
  const invited = await call("POST", "/v1/invitations", {
    key: ws.key,
    body: { email: "invitee@private.example.test", role: "user" },
  });
  expect(invited.status).toBe(201);
  const member = await addMember(ws, { email: "ann@example.test" });
  const change = await call("POST", `/v1/members/${member.id}/credential-changes`, {
    key: ws.key,
    body: { kind: "email", value: "ann.new@private.example.test" },
  });
  expect(change.status).toBe(202);
}

/** Writes a last member and waits until every socket has its event: all before it has been judged. */
async function settle(ws: Workspace, sockets: LiveSocket[]) {
  const last = await addMember(ws, { email: `last-${crypto.randomUUID()}@example.test` });
  for (const socket of sockets) {
    await waitFor("the last event", () => events(socket).some((e) => e.data.member?.id === last.id));
  }
}

describe("the live stream sends each family of events only to holders of its read scope", () => {
  it("gives a members:read watcher no action, join request, SMS settings, label, role, invitation or credential change event, and one holding their scopes each", async () => {
    const ws = await newWorkspace({ allowJoinRequests: true });
    await addRole(ws, "reader", ["members:read"]);
    await addRole(ws, "lead", [
      "members:admin",
      "labels:read",
      "roles:read",
      "invitations:read",
      "join_requests:read",
      "automations:read",
      "workspace:admin",
    ]);
    const [readerKey, leadKey] = [await keyForRole(ws, "reader"), await keyForRole(ws, "lead")];
    // Both from the log's head as committed: one opened while an earlier write's poke was
    // still under way would otherwise get that write's event, the other not.
    const after = await logHead(ws.id);
    const reader = await openLive({ key: readerKey.key, after });
    const lead = await openLive({ key: leadKey.key, after });

    await changeEveryFamily(ws);
    await settle(ws, [reader, lead]);

    const notAboutMembers = [
      "action.created",
      "join_request.created",
      "settings.sms_updated",
      "label.created",
      "role.created",
      "invitation.created",
      "credential_change.started",
    ];
    for (const type of notAboutMembers) {
      expect(types(lead)).toContain(type);
      expect(types(reader)).not.toContain(type);
    }
    const text = JSON.stringify(reader.messages);
    // (The invitee is a member, whose member.created it gets; the email being changed to is in no event.)
    for (const secret of [HOOK, JOINER, ACCOUNT_SID, "ann.new@"]) expect(text).not.toContain(secret);
    // What it was not sent leaves gaps in its seqs: the rest comes in order.
    const leadSeqs = lead.seqs();
    expect(reader.seqs().every((seq) => leadSeqs.includes(seq))).toBe(true);
    expect(reader.seqs()).toEqual([...reader.seqs()].sort((a, b) => a - b));
  });

  it("sends api_key events to workspace:admin holders and to the key's own member only", async () => {
    const ws = await newWorkspace();
    await addRole(ws, "reader", ["members:read"]);
    const me = await keyForRole(ws, "reader");
    const someone = await addMember(ws, { email: "someone@example.test", role: "reader" });
    const mine = await openLive({ key: me.key });
    const owner = await openLive({ key: ws.key });

    await mintKeyFor(ws.id, me.member.id, ["members:read"]);
    await mintKeyFor(ws.id, someone.id, ["members:read"]);
    await settle(ws, [mine, owner]);

    const keyEvents = (s: LiveSocket) =>
      events(s)
        .filter((e) => e.type === "api_key.created")
        .map((e) => e.data.member?.id);
    expect(keyEvents(owner)).toEqual([me.member.id, someone.id]);
    expect(keyEvents(mine)).toEqual([me.member.id]);
  });

  it("judges the families by the watcher's scopes now: a role that gains labels:read gets label events from then on", async () => {
    const ws = await newWorkspace();
    await addRole(ws, "reader", ["members:read"]);
    const watcher = await openLive({ key: (await keyForRole(ws, "reader", ["members:read", "labels:read"])).key });
    const label = (name: string) => call("POST", "/v1/labels", { key: ws.key, body: { name } });

    expect((await label("Before")).status).toBe(201);
    const patched = await call("PATCH", "/v1/roles/reader", {
      key: ws.key,
      body: { scopes: ["members:read", "labels:read"] },
    });
    expect(patched.status).toBe(200);
    await waitFor("reach.changed", () => watcher.messages.some((m) => m.type === "reach.changed"));
    expect((await label("After")).status).toBe(201);
    await waitFor("the later label", () => types(watcher).includes("label.created"));

    const labels = events(watcher).filter((e) => e.type === "label.created");
    expect(labels.map((e) => (e.data as { label?: { name?: string } }).label?.name)).toEqual(["After"]);
  });
});
