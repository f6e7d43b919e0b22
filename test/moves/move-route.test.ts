import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { eventsOf } from "../db";
import { addMember, call, newWorkspace, PLATFORM_TOKEN } from "../helpers";
import { asBrowser, signIn } from "../links";
import { openLive } from "../live/sockets";
import { configureSms, newNumber, postInbound, smsParams } from "../provider/twilio";
import { legacyKey, legacySession } from "../shards/legacy";
import { range, waitFor } from "../wait";
import { frozenForSwitch } from "./helpers";

const platform = { key: PLATFORM_TOKEN };
const moveTo = (workspaceId: string, shard: unknown) =>
  call("POST", `/v1/platform/workspaces/${workspaceId}/move`, { ...platform, body: { shard } });

/** Polls the move until the directory names its target, and answers it. */
async function completed(moveId: string) {
  let move: Record<string, unknown> = {};
  await waitFor(
    "the move's switch",
    async () => {
      move = (await call("GET", `/v1/platform/moves/${moveId}`, platform)).body;
      if (move.status === "failed") throw new Error(`the move failed: ${JSON.stringify(move)}`);
      return move.status === "completed";
    },
    120_000,
  );
  return move;
}

describe("POST /v1/platform/workspaces/{id}/move", { timeout: 180_000 }, () => {
  it("moves a workspace to the other shard, and its members, labels, keys, session, webhook and events keep working", async () => {
    const ws = await newWorkspace({ shard: 0 });
    for (let i = 0; i < 6; i++) {
      await addMember(ws, { name: `Mover ${i}`, email: `mover${i}@${ws.slug}.test`, labels: i % 2 ? ["vip"] : [] });
    }
    const extraKey = await call("POST", "/v1/api-keys", { key: ws.key, body: { name: "Kept" } });
    const cookie = await signIn(ws, `owner@${ws.slug}.test`);
    await configureSms(ws);
    const caller = newNumber();
    expect((await postInbound(ws.id, "sms", smsParams(caller, "before the move"))).status).toBe(200);
    const eventsBefore = await eventsOf(ws.id);
    const oldBookmark = (await call("GET", "/v1/members", { key: ws.key })).headers.get("x-d1-bookmark") ?? "";
    expect(oldBookmark).toMatch(/^0:/);

    const started = await moveTo(ws.id, 1);
    expect(started.status).toBe(202);
    expect(started.body).toEqual({ id: expect.any(String), status: "running" });
    const move = await completed(started.body.id);
    expect(move).toMatchObject({ id: started.body.id, workspaceId: ws.id, from: 0, to: 1, error: null });
    expect(move.copied).toBeGreaterThanOrEqual(move.total as number);
    expect(move.total).toBeGreaterThan(0);

    // Other isolates see the directory's new shard within their cache's 5 s.
    await waitFor("the new shard", async () => (await call("GET", "/v1/workspace", { key: ws.key })).body.shard === 1);
    const listed = await call("GET", "/v1/members?label=vip", { key: extraKey.body.key });
    expect(listed.status).toBe(200);
    expect(listed.body.data).toHaveLength(3);
    expect((await call("GET", "/v1/members", { headers: asBrowser(cookie) })).status).toBe(200);
    // A bookmark of the old shard's database is not handed to the new one's: the read starts on its primary.
    const withOld = await call("GET", "/v1/members", { key: ws.key, headers: { "x-d1-bookmark": oldBookmark } });
    expect(withOld.status).toBe(200);
    expect(withOld.body.data).toHaveLength(7);
    expect(withOld.headers.get("x-d1-bookmark")).toMatch(/^1:/);
    expect((await postInbound(ws.id, "sms", smsParams(caller, "after the move"))).status).toBe(200);
    const added = await addMember(ws, { name: "After Move", email: `after@${ws.slug}.test` });
    expect(added.id).toEqual(expect.any(String));

    const eventsAfter = await eventsOf(ws.id);
    expect(eventsAfter.slice(0, eventsBefore.length)).toEqual(eventsBefore);
    expect(eventsAfter.map((e) => e.seq)).toEqual(eventsAfter.map((_, i) => i + 1));
    expect(eventsAfter.length).toBeGreaterThan(eventsBefore.length);
  });

  it("keeps taking writes while it moves: each answered write applied once, a refused one a 503 with Retry-After, and an open socket sees every event once, in order", async () => {
    const ws = await newWorkspace({ shard: 0 });
    for (let i = 0; i < 30; i++) await addMember(ws, { name: `Early ${i}`, email: `early${i}@${ws.slug}.test` });
    const socket = await openLive({ key: ws.key });
    const head = (await eventsOf(ws.id)).length;

    const started = await moveTo(ws.id, 1);
    const answers: { status: number; retryAfter: string | null; email: string }[] = [];
    let writing = true;
    // Two writers, so writes arrive while the object holds the switch.
    const writers = [0, 1].map(async (w) => {
      for (let n = 0; writing; n++) {
        const email = `w${w}-${n}@${ws.slug}.test`;
        const res = await call("POST", "/v1/members", { key: ws.key, body: { name: `Writer ${w} ${n}`, email } });
        answers.push({ status: res.status, retryAfter: res.headers.get("Retry-After"), email });
      }
    });
    await completed(started.body.id);
    const atSwitch = answers.length;
    await waitFor("writes after the switch", () => answers.length >= atSwitch + 4, 30_000);
    writing = false;
    await Promise.all(writers);

    const refused = answers.filter((a) => a.status !== 201);
    expect(refused.every((a) => a.status === 503 && Number(a.retryAfter) > 0)).toBe(true);
    const events = await eventsOf(ws.id);
    const createdEmails = events
      .slice(head)
      .filter((e) => e.type === "member.created")
      .map((e) => (e.data as { member: { email: string } }).member.email);
    // Every 201 applied exactly once; nothing refused applied at all.
    expect(createdEmails.sort()).toEqual(
      answers
        .filter((a) => a.status === 201)
        .map((a) => a.email)
        .sort(),
    );
    expect(events.map((e) => e.seq)).toEqual(range(1, events.length));
    await waitFor("the socket's last event", () => socket.seqs().at(-1) === events.length, 30_000);
    expect(socket.seqs()).toEqual(range(head + 1, events.length));
    expect(socket.closed).toBeNull();
    // A client that resumes after the move with the seq it had before gets the rest, once, in order.
    const resumed = await openLive({ key: ws.key, after: head });
    expect(resumed.seqs()).toEqual(range(head + 1, events.length));
  });

  it("holds a write refused by the switch until the switch ends and applies it once; past its bound answers 503 with Retry-After, writing nothing", async () => {
    const ws = await newWorkspace({ shard: 0 });
    const owner = 1;
    const created = () =>
      eventsOf(ws.id).then((events) => events.filter((e) => e.type === "member.created").length - owner);

    let unfreeze = await frozenForSwitch(ws);
    const held = call("POST", "/v1/members", { key: ws.key, body: { name: "Held", email: `held@${ws.slug}.test` } });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await created()).toBe(0);
    await unfreeze();
    expect((await held).status).toBe(201);
    expect(await created()).toBe(1);

    unfreeze = await frozenForSwitch(ws);
    const refused = await call("POST", "/v1/members", {
      key: ws.key,
      body: { name: "No", email: `no@${ws.slug}.test` },
    });
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe("workspace_moved");
    expect(Number(refused.headers.get("Retry-After"))).toBeGreaterThan(0);
    expect(refused.headers.has("x-moved-workspace")).toBe(false);
    expect(await created()).toBe(1);
    await unfreeze();
  });

  it("keeps keys and sessions issued before tokens carried their workspace working after it leaves shard 0", async () => {
    const ws = await newWorkspace({ shard: 0 });
    const key = await legacyKey(env.SHARD_0, ws);
    const cookie = await legacySession(env.SHARD_0, ws);
    expect((await call("GET", "/v1/workspace", { key })).status).toBe(200);

    await completed((await moveTo(ws.id, 1)).body.id);
    await waitFor("the new shard", async () => (await call("GET", "/v1/workspace", { key: ws.key })).body.shard === 1);
    const viaKey = await call("GET", "/v1/workspace", { key });
    expect(viaKey.status).toBe(200);
    expect(viaKey.body.shard).toBe(1);
    expect((await call("GET", "/v1/members", { headers: asBrowser(cookie) })).status).toBe(200);
    const created = await call("POST", "/v1/members", { key, body: { name: "Late", email: `late@${ws.slug}.test` } });
    expect(created.status).toBe(201);
  });

  it("answers 409 while a move of the workspace runs or when it already lives there, 422 for no such shard, 404 for no such workspace or move", async () => {
    const ws = await newWorkspace({ shard: 0 });
    expect((await moveTo(ws.id, 0)).body.error.code).toBe("already_on_shard");
    const unknownShard = await moveTo(ws.id, 99);
    expect(unknownShard.status).toBe(422);
    expect((await moveTo(ws.id, "one")).status).toBe(422);
    expect((await moveTo("ws_01J00000000000000000000000", 1)).status).toBe(404);
    expect((await call("GET", "/v1/platform/moves/mov_nothing", platform)).status).toBe(404);

    const started = await moveTo(ws.id, 1);
    expect(started.status).toBe(202);
    const again = await moveTo(ws.id, 1);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("move_running");
    await completed(started.body.id);
  });
});

describe("the OpenAPI document", () => {
  it("names the move routes moveWorkspace and getMove, answering a StartedMove and a Move", async () => {
    const doc = (await call("GET", "/openapi.json")).body;
    const start = doc.paths["/v1/platform/workspaces/{id}/move"].post;
    expect(start.operationId).toBe("moveWorkspace");
    expect(start.responses["202"].content["application/json"].schema).toEqual({
      $ref: "#/components/schemas/StartedMove",
    });
    expect(Object.keys(start.responses)).toEqual(expect.arrayContaining(["404", "409", "422"]));
    const get = doc.paths["/v1/platform/moves/{id}"].get;
    expect(get.operationId).toBe("getMove");
    expect(get.responses["200"].content["application/json"].schema).toEqual({ $ref: "#/components/schemas/Move" });
  });
});
