import { describe, expect, it } from "vitest";
import { eventsOf } from "../db";
import { addMember, call, newWorkspace, PLATFORM_TOKEN } from "../helpers";
import { asBrowser, signIn } from "../links";
import { configureSms, newNumber, postInbound, smsParams } from "../provider/twilio";
import { waitFor } from "../wait";

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
    expect((await postInbound(ws.id, "sms", smsParams(caller, "after the move"))).status).toBe(200);
    const added = await addMember(ws, { name: "After Move", email: `after@${ws.slug}.test` });
    expect(added.id).toEqual(expect.any(String));

    const eventsAfter = await eventsOf(ws.id);
    expect(eventsAfter.slice(0, eventsBefore.length)).toEqual(eventsBefore);
    expect(eventsAfter.map((e) => e.seq)).toEqual(eventsAfter.map((_, i) => i + 1));
    expect(eventsAfter.length).toBeGreaterThan(eventsBefore.length);
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
