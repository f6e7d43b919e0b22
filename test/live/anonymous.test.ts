import { describe, expect, it } from "vitest";
import { logHead } from "../db";
import { addMember, addRole, call, keyForRole, newWorkspace } from "../helpers";
import { configureSms, newNumber, postInbound, smsParams } from "../provider/twilio";
import { type LiveSocket, openLive, waitFor } from "./sockets";

type Event = { seq: number; type: string; data: { member?: { id: string }; into?: { id: string }; moved?: number } };
const events = (s: LiveSocket) => s.messages.filter((m) => "seq" in m) as unknown as Event[];
const seqsOf = (s: LiveSocket, type: string) => events(s).flatMap((e) => (e.type === type ? [e.seq] : []));

describe("the live stream of a watcher without members:admin", () => {
  it("withholds events about anonymous and merged members, live and on replay, as REST refuses them; a merge and its undo come without the anonymous member", async () => {
    const ws = await newWorkspace();
    await configureSms(ws);
    await addRole(ws, "reader", ["members:read"]);
    await addRole(ws, "desk", ["members:read"], "team", `!("vip" in member.labels)`);
    const keys = [
      (await keyForRole(ws, "reader")).key,
      (await keyForRole(ws, "desk")).key,
      // A manager's key narrowed to members:read.
      (await keyForRole(ws, "manager", ["members:read"])).key,
    ];
    const start = await logHead(ws.id);
    const watchers = await Promise.all(keys.map((key) => openLive({ key })));
    const admin = await openLive({ key: ws.key });

    const phone = newNumber();
    await postInbound(ws.id, "sms", smsParams(phone, "private text from a stranger"));
    const [anonymous] = (await call("GET", "/v1/members?status=anonymous", { key: ws.key })).body.data;
    const ada = await addMember(ws, { name: "Ada", email: "ada@example.test" });
    await call("POST", `/v1/members/${anonymous.id}/resolve`, { key: ws.key, body: { targetId: ada.id } });
    // Now on Ada, whom they all reach.
    await postInbound(ws.id, "sms", smsParams(phone, "it's Ada"));
    await call("POST", `/v1/members/${anonymous.id}/resolve/undo`, { key: ws.key });
    const head = await logHead(ws.id);
    await waitFor("the whole log on the admin's socket", () => admin.seqs().at(-1) === head, 2_000);
    expect(events(admin).map((e) => e.type)).toEqual([
      "member.created",
      "message.received",
      "member.created",
      "member.merged",
      "message.received",
      "member.unmerged",
    ]);

    const [, , adaCreated, merged, adaMessage, unmerged] = admin.seqs();
    for (const [i, key] of keys.entries()) {
      const live = watchers[i] as LiveSocket;
      await waitFor("the undo", () => live.seqs().at(-1) === head, 2_000);
      expect(live.seqs()).toEqual([adaCreated, merged, adaMessage, unmerged]);
      expect(seqsOf(live, "message.received")).toEqual([adaMessage]);
      // Ada's history gained a message, then lost it: they read it over REST, so they learn it, but not who it came from.
      const partial = events(live).filter((e) => e.seq === merged || e.seq === unmerged);
      expect(partial.map((e) => [e.data.member, e.data.into?.id])).toEqual([
        [undefined, ada.id],
        [undefined, ada.id],
      ]);
      expect(partial[0]?.data.moved).toBe(1);
      expect(JSON.stringify(partial)).not.toContain(anonymous.id);
      expect(JSON.stringify(partial)).not.toContain(phone.slice(1));
      const replayed = await openLive({ key, after: start });
      expect(replayed.seqs()).toEqual(live.seqs());
      expect((await call("GET", `/v1/members/${anonymous.id}/messages`, { key })).status).toBe(403);
      live.ws.close();
      replayed.ws.close();
    }
    admin.ws.close();
  });

  it("sends a merge into a member its role condition does not reach not at all", async () => {
    const ws = await newWorkspace();
    await configureSms(ws);
    await addRole(ws, "desk", ["members:read"], "team", `!("vip" in member.labels)`);
    const desk = await openLive({ key: (await keyForRole(ws, "desk")).key });
    await postInbound(ws.id, "sms", smsParams(newNumber(), "hello"));
    const [anonymous] = (await call("GET", "/v1/members?status=anonymous", { key: ws.key })).body.data;
    const vip = await addMember(ws, { name: "Vee", email: "vee@example.test", labels: ["vip"] });
    const merged = await call("POST", `/v1/members/${anonymous.id}/resolve`, {
      key: ws.key,
      body: { targetId: vip.id },
    });
    expect(merged.status).toBe(200);
    // Events go out in seq order: once Pat, created after the merge, is on the desk's socket, the merge would be too.
    const pat = await addMember(ws, { name: "Pat", email: "pat@example.test" });
    await waitFor("Pat on the desk's socket", () => events(desk).some((e) => e.data.member?.id === pat.id), 2_000);
    expect(seqsOf(desk, "member.merged")).toEqual([]);
    desk.ws.close();
  });
});
