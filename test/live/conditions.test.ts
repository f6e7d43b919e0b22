import { describe, expect, it } from "vitest";
import { OUT_OF_REACH } from "../../worker/live/protocol";
import { addMember, call, keyForRole, newWorkspace, type Workspace } from "../helpers";
import { asBrowser, latestToken, sessionCookie } from "../links";
import { mintKeyFor } from "../mint-key";
import { configureSms, newNumber, postInbound, smsParams } from "../provider/twilio";
import { type LiveSocket, openLive, waitFor } from "./sockets";

/**
 * A workspace with a "desk" role that reaches only the members its condition holds for
 * (members:read, and any other `scopes`: each family of events needs its read scope).
 */
async function deskWorkspace(condition: string, scopes: string[] = []) {
  const ws = await newWorkspace({ allowJoinRequests: true });
  const role = await call("POST", "/v1/roles", {
    key: ws.key,
    body: { key: "desk", name: "Desk", type: "team", scopes: ["members:read", ...scopes], condition },
  });
  expect(role.status).toBe(201);
  return { ws, agent: await keyForRole(ws, "desk") };
}

type Event = { seq: number; type: string; data: Record<string, { id?: string; memberId?: string; email?: string }> };
const events = (s: LiveSocket) => s.messages.filter((m) => "seq" in m) as unknown as Event[];

/** Every member id an event names, whole or by id. */
const namedIds = (e: Event) =>
  Object.values(e.data ?? {})
    .flatMap((v) =>
      v && typeof v === "object"
        ? [v.memberId, e.type === OUT_OF_REACH || v === e.data.member || v === e.data.into ? v.id : undefined]
        : [],
    )
    .filter((id): id is string => typeof id === "string");

const submit = (ws: Workspace, name: string, email: string) =>
  call("POST", `/public/${ws.slug}/join-requests`, {
    body: { name, email },
    headers: { "CF-Connecting-IP": `10.9.${Math.floor(Math.random() * 255)}.${Math.floor(Math.random() * 255)}` },
  });

describe("the live stream of a watcher whose role has a condition", () => {
  it("sends events of every kind about members it reaches, and nothing about the others", async () => {
    const { ws, agent } = await deskWorkspace(`member.email.endsWith("@acme.test")`, [
      "invitations:read",
      "join_requests:read",
    ]);
    const watcher = await openLive({ key: agent.key });
    const owner = await openLive({ key: ws.key });
    const seen = await addMember(ws, { email: "ann@acme.test", phone: "+14155550101" });
    const hidden = await addMember(ws, { email: "hal@other.test", phone: "+14155550102" });
    for (const [m, phone] of [
      [seen, "+14155550111"],
      [hidden, "+14155550112"],
    ] as const) {
      const started = await call("POST", `/v1/members/${m.id}/credential-changes`, {
        key: ws.key,
        body: { kind: "phone", value: phone },
      });
      expect(started.status).toBe(202);
    }
    const invited: Record<string, string> = {};
    for (const email of ["ivy@acme.test", "ira@other.test"]) {
      const sent = await call("POST", "/v1/invitations", { key: ws.key, body: { email, role: "user" } });
      invited[email] = sent.body.memberId;
      const token = await latestToken(ws, email);
      const accepted = await call("POST", "/v1/invitations/accept", { body: { token } });
      expect(accepted.status).toBe(200);
      const headers = asBrowser(sessionCookie(accepted.headers));
      expect((await call("POST", "/v1/auth/logout", { headers })).status).toBeLessThan(300);
    }
    expect((await submit(ws, "Jo", "jo@acme.test")).status).toBe(202);
    expect((await submit(ws, "Jay", "jay@other.test")).status).toBe(202);
    await addMember(ws, { email: "last@acme.test" });

    const last = (e: Event[]) =>
      e.some((x) => x.type === "member.created" && x.data.member?.email === "last@acme.test");
    await waitFor("the last event on both", () => last(events(owner)) && last(events(watcher)));
    const reached = new Set([seen.id, invited["ivy@acme.test"]]);
    const got = events(watcher).filter((e) => e.type !== "member.created" || e.data.member?.email !== "last@acme.test");
    // credential_change.started names its member by id only (it must not carry the value being
    // replaced), which no condition can judge: withheld, the owner gets it.
    expect(events(owner).filter((e) => e.type === "credential_change.started")).toHaveLength(2);
    expect(got.map((e) => e.type)).toEqual([
      "member.created",
      "member.created",
      "invitation.created",
      "invitation.accepted",
      "session.created",
      "session.ended",
      "join_request.created",
    ]);
    for (const e of got) for (const id of namedIds(e)) expect(reached).toContain(id);
    const text = JSON.stringify(watcher.messages);
    for (const secret of [hidden.id, invited["ira@other.test"], "@other.test"]) expect(text).not.toContain(secret);
    // The owner, unconditioned, got each change; the watcher's are a subsequence in the same order.
    const ownerSeqs = events(owner).map((e) => e.seq);
    expect(watcher.seqs().every((seq) => ownerSeqs.includes(seq))).toBe(true);
    expect(watcher.seqs()).toEqual([...watcher.seqs()].sort((a, b) => a - b));
  });

  it("tells it, under the change's own seq and with the id only, when a member leaves its reach", async () => {
    const { ws, agent } = await deskWorkspace(`!("vip" in member.labels)`);
    const regular = await addMember(ws, { email: "rob@example.test", name: "Rob" });
    const start = (await openLive({ key: ws.key, after: 0 })).seqs().at(-1) ?? 0;
    const watcher = await openLive({ key: agent.key });
    const owner = await openLive({ key: ws.key });
    const label = (id: string, labels: string[]) =>
      call("POST", `/v1/members/${id}/labels`, { key: ws.key, body: { labels } });
    await label(regular.id, ["vip"]); // leaves reach
    await call("PATCH", `/v1/members/${regular.id}`, { key: ws.key, body: { name: "Rob Secret" } }); // hidden: nothing
    const neverSeen = await addMember(ws, { email: "vera@example.test", labels: ["vip"] }); // never seen: nothing
    await label(neverSeen.id, ["gold"]);
    await call("DELETE", `/v1/members/${regular.id}/labels/vip`, { key: ws.key }); // back in reach, whole
    // The labels vip and gold are new: their label.created events go to holders of labels:read (the owner).
    const aboutMembers = (socket: LiveSocket) => events(socket).filter((e) => !e.type.startsWith("label."));
    await waitFor("the owner's five member events", () => aboutMembers(owner).length >= 5);
    await waitFor("the watcher's two", () => aboutMembers(watcher).length >= 2);

    const [labeled, , , , unlabeled] = aboutMembers(owner);
    expect(aboutMembers(watcher)).toEqual([
      // Of the actor (the owner's key), only its type.
      {
        seq: labeled?.seq,
        type: OUT_OF_REACH,
        at: expect.any(String),
        data: { member: { id: regular.id } },
        actor: { type: "member" },
      },
      unlabeled,
    ]);
    expect(JSON.stringify(watcher.messages)).not.toContain(neverSeen.id);

    // A replay tells the same story, event for event.
    const replayed = await openLive({ key: agent.key, after: start });
    expect(aboutMembers(replayed).slice(-2)).toEqual(aboutMembers(watcher));
  });
});

describe("a conditioned watcher whose own reach changes", () => {
  it("is told reach.changed, and later events are judged by its new reach", async () => {
    const { ws, agent } = await deskWorkspace(`!("vip" in member.labels) || "vip-desk" in actor.labels`);
    const watcher = await openLive({ key: agent.key });
    const before = await addMember(ws, { email: "before@example.test", labels: ["vip"] });
    const granted = await call("POST", `/v1/members/${agent.member.id}/labels`, {
      key: ws.key,
      body: { labels: ["vip-desk"] },
    });
    expect(granted.status).toBe(200);
    await waitFor("reach.changed", () => watcher.messages.some((m) => "type" in m && m.type === "reach.changed"));
    const after = await addMember(ws, { email: "after@example.test", labels: ["vip"] });
    await waitFor("the vip created after", () =>
      events(watcher).some((e) => e.type === "member.created" && e.data.member?.id === after.id),
    );
    const shown = events(watcher).map((e) => e.data.member?.id);
    expect(shown).not.toContain(before.id);
    const changedAt = watcher.messages.findIndex((m) => "type" in m && m.type === "reach.changed");
    const labeledAt = watcher.messages.findIndex((m) => "seq" in m && m.type === "member.labeled");
    expect(labeledAt).toBeGreaterThan(-1);
    expect(changedAt).toBeGreaterThan(labeledAt);
  });
});

describe("events naming a member by id, for a conditioned watcher", () => {
  it("sends api_key.revoked only when the key's member is in reach", async () => {
    const { ws, agent } = await deskWorkspace(`!("vip" in member.labels)`, ["workspace:admin"]);
    const vip = await addMember(ws, { email: "vip@example.test", labels: ["vip"] });
    const plain = await addMember(ws, { email: "plain@example.test" });
    for (const m of [vip, plain]) await mintKeyFor(ws.id, m.id, ["members:read"]);
    const keys = (await call("GET", "/v1/api-keys", { key: ws.key })).body.data as { id: string; memberId: string }[];
    const keyOf = (id: string) => keys.find((k) => k.memberId === id)?.id ?? "";
    const watcher = await openLive({ key: agent.key });
    const owner = await openLive({ key: ws.key });

    for (const m of [vip, plain]) {
      expect((await call("DELETE", `/v1/api-keys/${keyOf(m.id)}`, { key: ws.key })).status).toBe(204);
    }
    await waitFor("both revocations", () => events(owner).filter((e) => e.type === "api_key.revoked").length === 2);
    await waitFor("the plain one", () => events(watcher).some((e) => e.type === "api_key.revoked"));
    const revoked = events(watcher).filter((e) => e.type === "api_key.revoked");
    expect(revoked.map((e) => e.data.member?.id)).toEqual([plain.id]);
    expect(JSON.stringify(watcher.messages)).not.toContain(keyOf(vip.id));
    expect(JSON.stringify(watcher.messages)).not.toContain(vip.id);
  });

  it("does not name, in member.unmerged, a member it may not see", async () => {
    const { ws, agent } = await deskWorkspace(`!("vip" in member.labels)`);
    const vip = await addMember(ws, { email: "vip@example.test", labels: ["vip"] });
    await configureSms(ws);
    expect((await postInbound(ws.id, "sms", smsParams(newNumber(), "hello"))).status).toBe(200);
    const [anonymous] = (await call("GET", "/v1/members?status=anonymous", { key: ws.key })).body.data;
    const watcher = await openLive({ key: agent.key });
    const owner = await openLive({ key: ws.key });

    const merged = await call("POST", `/v1/members/${anonymous.id}/resolve`, {
      key: ws.key,
      body: { targetId: vip.id },
    });
    expect(merged.status).toBe(200);
    expect((await call("POST", `/v1/members/${anonymous.id}/resolve/undo`, { key: ws.key })).status).toBe(200);
    await waitFor("member.unmerged", () => events(owner).some((e) => e.type === "member.unmerged"));
    const unmerged = events(owner).find((e) => e.type === "member.unmerged");
    expect(unmerged?.data.into?.id).toBe(vip.id);

    // A later event the watcher does get: everything before it has been judged.
    const later = await addMember(ws, { email: "later@example.test" });
    await waitFor("the later member", () => events(watcher).some((e) => e.data.member?.id === later.id));
    expect(JSON.stringify(watcher.messages)).not.toContain(vip.id);
  });
});

describe("a conditioned watcher resuming after its reach changed", () => {
  it("is told reach.changed before ready when the replay holds a change to its member or role", async () => {
    const { ws, agent } = await deskWorkspace(`!("vip" in member.labels) || "vip-desk" in actor.labels`);
    const first = await openLive({ key: agent.key, after: 0 });
    const last = first.seqs().at(-1) ?? 0;
    first.ws.close();
    const quiet = await openLive({ key: agent.key, after: last });
    expect(quiet.messages.map((m) => m.type)).toEqual(["ready"]);
    quiet.ws.close();

    // While it is away, it is given vip-desk: vip members it never had an event about are now in reach.
    const granted = await call("POST", `/v1/members/${agent.member.id}/labels`, {
      key: ws.key,
      body: { labels: ["vip-desk"] },
    });
    expect(granted.status).toBe(200);
    const resumed = await openLive({ key: agent.key, after: last });
    const types = resumed.messages.map((m) => m.type);
    expect(types.slice(-2)).toEqual(["reach.changed", "ready"]);
  });
});
