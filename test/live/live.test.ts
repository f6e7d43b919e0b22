import { evictDurableObject, listDurableObjectIds, runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { logHead, shardDb } from "../db";
import { addMember, call, keyForRole, newWorkspace } from "../helpers";
import { latestToken, sessionCookie } from "../links";
import { connectLive, isReady, openLive, range, waitFor } from "./sockets";

/**
 * A write straight to D1, as if the Worker had crashed before poking the object: a
 * `member.updated` of the owner (a family every member:read watcher gets).
 */
async function commitWithoutPoke(workspaceId: string, seq: number) {
  await (await shardDb(workspaceId))
    .prepare(
      `insert into events (workspace_id, seq, type, at, data)
     select ?, ?, 'member.updated', ?, json_object('member', json(json)) from members where workspace_id = ? limit 1`,
    )
    .bind(workspaceId, seq, new Date().toISOString(), workspaceId)
    .run();
}

describe("the live stream", () => {
  it("shows two sockets the same events in the same order", async () => {
    const ws = await newWorkspace();
    const a = await openLive({ key: ws.key });
    const b = await openLive({ key: ws.key });
    const start = await logHead(ws.id);
    await addMember(ws, { email: "one@x.test" });
    await addMember(ws, { email: "two@x.test" });
    await waitFor("two events on both", () => a.seqs().length >= 2 && b.seqs().length >= 2, 2_000);
    expect(a.seqs()).toEqual([start + 1, start + 2]);
    expect(b.messages).toEqual(a.messages);
    const types = a.messages.flatMap((m) => ("seq" in m ? [m.type] : []));
    expect(types).toEqual(["member.created", "member.created"]);
  });

  it("gives every socket each of 200 concurrent writes exactly once, in order", async () => {
    const ws = await newWorkspace();
    const sockets = await Promise.all([1, 2, 3].map(() => openLive({ key: ws.key })));
    const start = await logHead(ws.id);
    await Promise.all(range(1, 200).map((i) => addMember(ws, { email: `c${i}@x.test` })));
    for (const socket of sockets) {
      await waitFor("200 events", () => socket.seqs().length >= 200, 20_000);
      expect(socket.seqs()).toEqual(range(start + 1, start + 200));
    }
  });

  it("replays what a socket missed when it resumes with after=<seq>, then says ready", async () => {
    const ws = await newWorkspace();
    const first = await openLive({ key: ws.key });
    const start = await logHead(ws.id);
    await addMember(ws, { email: "before@x.test" });
    await waitFor("first event", () => first.seqs().length === 1, 2_000);
    first.ws.close();
    for (let i = 0; i < 5; i++) await addMember(ws, { email: `missed${i}@x.test` });
    const resumed = await openLive({ key: ws.key, after: start + 1 });
    await addMember(ws, { email: "after@x.test" });
    await waitFor("the live event", () => resumed.seqs().length === 6, 2_000);
    expect(resumed.seqs()).toEqual(range(start + 2, start + 7));
    const readyAt = resumed.messages.findIndex((m) => "type" in m && m.type === "ready");
    expect(readyAt).toBe(5);
    expect(resumed.messages[readyAt]).toEqual({ type: "ready", head: start + 6 });
  });

  it("says ready at the log's real head when after= names a seq the log never reached", async () => {
    const ws = await newWorkspace();
    const head = await logHead(ws.id);
    const socket = await openLive({ key: ws.key, after: head + 5 });
    expect(socket.seqs()).toEqual([]);
    expect(socket.messages).toContainEqual({ type: "ready", head });
  });

  it("replays the whole log for after=0", async () => {
    const ws = await newWorkspace();
    await addMember(ws, { email: "a@x.test" });
    const socket = await openLive({ key: ws.key, after: 0 });
    expect(socket.seqs()).toEqual(range(1, await logHead(ws.id)));
  });

  it("loses nothing when the Durable Object is evicted in the middle of a stream", async () => {
    const ws = await newWorkspace();
    const socket = await openLive({ key: ws.key });
    const start = await logHead(ws.id);
    const writes = range(1, 40).map((i) => addMember(ws, { email: `e${i}@x.test` }));
    await waitFor("some events", () => socket.seqs().length >= 5);
    await evictDurableObject(env.WORKSPACE.getByName(ws.id));
    await Promise.all(writes);
    for (let i = 41; i <= 60; i++) await addMember(ws, { email: `e${i}@x.test` });
    await waitFor("60 events", () => socket.seqs().length >= 60, 20_000);
    expect(socket.seqs()).toEqual(range(start + 1, start + 60));
  });

  it("delivers a commit nobody poked for when its sweep alarm runs", async () => {
    const ws = await newWorkspace();
    const socket = await openLive({ key: ws.key });
    const start = await logHead(ws.id);
    await commitWithoutPoke(ws.id, start + 1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(socket.seqs()).toEqual([]);
    expect(await runDurableObjectAlarm(env.WORKSPACE.getByName(ws.id))).toBe(true);
    await waitFor("the unpoked event", () => socket.seqs().length >= 1, 2_000);
    expect(socket.seqs()).toEqual([start + 1]);
  });

  it("delivers an earlier unpoked commit with the next poke, in order", async () => {
    const ws = await newWorkspace();
    const socket = await openLive({ key: ws.key });
    const start = await logHead(ws.id);
    await commitWithoutPoke(ws.id, start + 1);
    await addMember(ws, { email: "poked@x.test" });
    // Well under the 5 s sweep: the poke, not the alarm, brings both.
    await waitFor("both events", () => socket.seqs().length >= 2, 2_000);
    expect(socket.seqs()).toEqual([start + 1, start + 2]);
  });

  it("keeps streaming to the others when one client goes away mid-stream", async () => {
    const ws = await newWorkspace();
    const [leaver, stayer] = await Promise.all([openLive({ key: ws.key }), openLive({ key: ws.key })]);
    const start = await logHead(ws.id);
    const writes = range(1, 30).map((i) => addMember(ws, { email: `s${i}@x.test` }));
    await waitFor("a first event", () => leaver.seqs().length >= 1);
    leaver.ws.close();
    await Promise.all(writes);
    await waitFor("30 events", () => stayer.seqs().length >= 30);
    expect(stayer.seqs()).toEqual(range(start + 1, start + 30));
  });

  it("sends ephemeral messages without a seq to live sockets", async () => {
    const ws = await newWorkspace();
    const socket = await openLive({ key: ws.key });
    const progress = {
      type: "import.progress" as const,
      importId: "imp_1",
      processed: 10,
      total: 100,
      created: 8,
      updated: 2,
      failed: 0,
      status: "running",
    };
    // The owner follows every import, this one's importer or not.
    await env.WORKSPACE.getByName(ws.id).publish(progress, "mem_another");
    await waitFor("the progress message", () => socket.messages.length >= 2);
    expect(socket.messages.at(-1)).toEqual(progress);
    expect(socket.seqs()).toEqual([]);
  });

  it("refuses customers and callers without members:read before the upgrade", async () => {
    const ws = await newWorkspace();
    const customer = await keyForRole(ws, "user");
    const refused = await connectLive({ key: customer.key });
    expect(refused.refused?.status).toBe(403);
    await call("POST", "/v1/roles", {
      key: ws.key,
      body: { key: "labeller", name: "Labeller", type: "team", scopes: ["labels:write"] },
    });
    const labeller = await keyForRole(ws, "labeller");
    expect((await connectLive({ key: labeller.key })).refused?.status).toBe(403);
    expect((await connectLive({})).refused?.status).toBe(401);
  });

  it("refuses an archived member and disconnects a watcher when they are archived", async () => {
    const ws = await newWorkspace();
    const admin = await keyForRole(ws, "manager");
    const socket = await openLive({ key: admin.key });
    await call("POST", `/v1/members/${admin.member.id}/archive`, { key: ws.key });
    await waitFor("the close", () => socket.closed !== null);
    expect(socket.closed?.code).toBe(4003);
    expect((await connectLive({ key: admin.key })).refused?.status).toBe(401);
  });

  it("opens with the session cookie from this site or a client that is not a browser, never from another site's page", async () => {
    const ws = await newWorkspace();
    const email = `owner@${ws.slug}.test`;
    await call("POST", "/v1/auth/login", { body: { workspace: ws.slug, email } });
    const verified = await call("POST", "/v1/auth/verify", { body: { token: await latestToken(ws, email) } });
    const cookie = sessionCookie(verified.headers);
    const foreign = await connectLive({ headers: { Cookie: cookie, Origin: "http://evil.localhost" } });
    expect(foreign.refused?.status).toBe(403);
    expect((await connectLive({ headers: { Cookie: cookie, "Sec-Fetch-Site": "cross-site" } })).refused?.status).toBe(
      403,
    );
    const ours = await connectLive({ headers: { Cookie: cookie, Origin: "http://localhost" } });
    expect(ours.socket).toBeDefined();
    expect((await connectLive({ headers: { Cookie: cookie } })).socket).toBeDefined();
  });

  it("opens with a single-use ticket, as browsers do", async () => {
    const ws = await newWorkspace();
    const issued = await call("POST", "/v1/live/tickets", { key: ws.key });
    expect(issued.status).toBe(201);
    const socket = await openLive({ token: issued.body.ticket });
    expect(isReady(socket)).toBe(true);
    const again = await connectLive({ token: issued.body.ticket });
    expect(again.refused?.status).toBe(401);
    expect((await connectLive({ token: `${ws.id}.forged` })).refused?.status).toBe(401);
    // A ticket naming no workspace wakes no Durable Object.
    expect((await connectLive({ token: "ws_NOSUCHWORKSPACE.forged" })).refused?.status).toBe(401);
    const objects = (await listDurableObjectIds(env.WORKSPACE)).map(String);
    expect(objects).toContain(env.WORKSPACE.idFromName(ws.id).toString());
    expect(objects).not.toContain(env.WORKSPACE.idFromName("ws_NOSUCHWORKSPACE").toString());
  });
});
