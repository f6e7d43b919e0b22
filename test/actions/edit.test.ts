import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { eventsOf } from "../db";
import { addMember, call, keyForRole, newWorkspace } from "../helpers";
import { createAction, deliveries, eventually, mockReceiver, settled } from "./helpers";

/** action.updated's data. */
type Updated = { changed: string[]; action: { paused: boolean } };

/** The event types of the deliveries a receiver got, in order. */
const typesOf = (received: { body: string }[]) => received.map((r) => (JSON.parse(r.body) as { type: string }).type);

describe("triggers on any event", () => {
  it("a family trigger fires for each event of the family, and for no event of another", async () => {
    const { url: hook, received } = mockReceiver();
    const ws = await newWorkspace();
    const action = await createAction(ws, { trigger: "member.*", action: { type: "webhook", url: hook } });
    const invitations = await createAction(ws, {
      trigger: "invitation.*",
      action: { type: "webhook", url: `${hook}/inv` },
    });
    const member = await addMember(ws, { email: "ann@example.test", name: "Ann" });
    await call("PATCH", `/v1/members/${member.id}`, { key: ws.key, body: { name: "Ann B" } });
    await call("POST", "/v1/labels", { key: ws.key, body: { name: "VIP", slug: "vip" } });
    await call("POST", `/v1/members/${member.id}/labels`, { key: ws.key, body: { labels: ["vip"] } });
    await call("DELETE", `/v1/members/${member.id}/labels/vip`, { key: ws.key });
    await call("POST", `/v1/members/${member.id}/archive`, { key: ws.key });

    const log = await eventsOf(ws.id);
    const start = log.find((e) => e.type === "action.created")?.seq ?? 0;
    const memberEvents = log.filter((e) => e.seq > start && e.type.startsWith("member.")).map((e) => e.type);
    expect(new Set(memberEvents)).toEqual(
      new Set(["member.created", "member.updated", "member.labeled", "member.unlabeled", "member.archived"]),
    );
    // Other families were logged meanwhile: their events run nothing here.
    expect(log.some((e) => e.seq > start && e.type.startsWith("label."))).toBe(true);
    await eventually("every member event's delivery", async () => received.length >= memberEvents.length);
    await settled(async () => received.length);
    expect(typesOf(received.filter((r) => r.url === hook))).toEqual(memberEvents);
    expect(await deliveries(ws, action.id)).toHaveLength(memberEvents.length);
    expect(await deliveries(ws, invitations.id)).toHaveLength(0);
  });

  it("names any registered event type, and refuses with 422 a type or family that does not exist", async () => {
    const ws = await newWorkspace();
    const label = await createAction(ws, {
      trigger: "label.created",
      action: { type: "webhook", url: "https://hooks.example.test/a" },
    });
    expect(label.trigger).toBe("label.created");
    for (const trigger of ["member.nope", "nope.*", "member", "*", "member.**"]) {
      const res = await call("POST", "/v1/actions", {
        key: ws.key,
        body: { name: "A", trigger, action: { type: "webhook", url: "https://hooks.example.test/a" } },
      });
      expect(res.status, trigger).toBe(422);
      expect(res.body.error.issues[0].path).toBe("trigger");
    }
    // A label action needs events that name a member.
    const res = await call("POST", "/v1/actions", {
      key: ws.key,
      body: { name: "A", trigger: "invitation.*", action: { type: "label", add: ["x"] } },
    });
    expect(res.status).toBe(422);
    expect(res.body.error.issues[0].path).toBe("action.type");
  });
});

describe("editing an action", () => {
  it("renames it, changes its condition and its webhook's URL (keeping its secret), each with action.updated", async () => {
    const { url: hook, received } = mockReceiver();
    const ws = await newWorkspace();
    const action = await createAction(ws, { trigger: "member.created", action: { type: "webhook", url: hook } });
    const patch = (body: unknown) => call("PATCH", `/v1/actions/${action.id}`, { key: ws.key, body });

    const renamed = await patch({ name: "Renamed" });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ id: action.id, name: "Renamed", trigger: "member.created" });
    expect(renamed.body.secret).toBeUndefined();

    const bad = await patch({ condition: "member.name ==" });
    expect(bad.status).toBe(422);
    expect(bad.body.error.issues[0]).toMatchObject({ path: "condition", line: 1, column: 15 });
    const conditioned = await patch({ condition: `"vip" in member.labels` });
    expect(conditioned.status).toBe(200);
    expect(conditioned.body.condition).toBe(`"vip" in member.labels`);

    const moved = await patch({ action: { type: "webhook", url: `${hook}/moved` } });
    expect(moved.status).toBe(200);
    expect(moved.body.action).toEqual({ type: "webhook", url: `${hook}/moved` });
    expect(moved.body.secret).toBeUndefined();
    expect((await patch({ action: { type: "webhook", url: "http://10.0.0.1/" } })).status).toBe(422);

    // Nothing changed: no event.
    expect((await patch({ name: "Renamed" })).status).toBe(200);
    const updates = (await eventsOf(ws.id)).filter((e) => e.type === "action.updated");
    expect(updates.map((e) => (e.data as Updated).changed)).toEqual([["name"], ["condition"], ["action"]]);
    expect(JSON.stringify(updates)).not.toContain(action.secret);

    await addMember(ws, { email: "plain@example.test" });
    const vip = await addMember(ws, { email: "vip@example.test", labels: ["vip"] });
    await eventually("the vip's delivery", async () => received.length === 1);
    await settled(async () => received.length);
    expect(received).toHaveLength(1);
    expect(received[0]?.url).toBe(`${hook}/moved`);
    const payload = new Webhook(action.secret).verify(received[0]?.body ?? "", received[0]?.headers ?? {}) as {
      data: { member: { id: string } };
    };
    expect(payload.data.member.id).toBe(vip.id);
  });

  it("turns an email action into a webhook with a new secret, shown once", async () => {
    const ws = await newWorkspace();
    const action = await createAction(ws, { trigger: "member.created", action: { type: "email", text: "Hi" } });
    const res = await call("PATCH", `/v1/actions/${action.id}`, {
      key: ws.key,
      body: { action: { type: "webhook", url: "https://hooks.example.test/x" } },
    });
    expect(res.status).toBe(200);
    expect(res.body.secret).toMatch(/^whsec_/);
    expect((await call("GET", `/v1/actions/${action.id}`, { key: ws.key })).body.secret).toBeUndefined();
  });

  it("a paused action runs for nothing logged while paused, and resumed runs for later events", async () => {
    const { url: hook, received } = mockReceiver();
    const ws = await newWorkspace();
    const action = await createAction(ws, { trigger: "member.created", action: { type: "webhook", url: hook } });
    const paused = await call("PATCH", `/v1/actions/${action.id}`, { key: ws.key, body: { paused: true } });
    expect(paused.status).toBe(200);
    expect(paused.body.paused).toBe(true);
    await addMember(ws, { email: "during@example.test" });
    const resumed = await call("PATCH", `/v1/actions/${action.id}`, { key: ws.key, body: { paused: false } });
    expect(resumed.body).toMatchObject({ paused: false, pausedAt: null, pausedReason: null });
    await addMember(ws, { email: "after@example.test" });
    await eventually("the later member's delivery", async () => received.length === 1);
    await settled(async () => received.length);
    expect(received.map((r) => JSON.parse(r.body).data.member.email)).toEqual(["after@example.test"]);
    const updates = (await eventsOf(ws.id)).filter((e) => e.type === "action.updated");
    expect(updates.map((e) => [(e.data as Updated).changed, (e.data as Updated).action.paused])).toEqual([
      [["paused"], true],
      [["paused"], false],
    ]);
  });

  it("answers 404 for another workspace's action and 403 without automations:admin", async () => {
    const ws = await newWorkspace();
    const other = await newWorkspace();
    const action = await createAction(ws, { trigger: "member.created", action: { type: "email", text: "Hi" } });
    const res = await call("PATCH", `/v1/actions/${action.id}`, { key: other.key, body: { name: "Mine" } });
    expect(res.status).toBe(404);
    const { key: reader } = await keyForRole(ws, "manager", ["automations:read"]);
    const forbidden = await call("PATCH", `/v1/actions/${action.id}`, { key: reader, body: { paused: true } });
    expect(forbidden.status).toBe(403);
    expect((await call("GET", `/v1/actions/${action.id}`, { key: ws.key })).body.name).toBe(action.name);
  });
});

describe("replaying a delivery", () => {
  it("delivers the run's event again, with the same webhook-id, and answers 202 with the delivery", async () => {
    const { url: hook, received } = mockReceiver();
    const ws = await newWorkspace();
    const action = await createAction(ws, { trigger: "member.created", action: { type: "webhook", url: hook } });
    await addMember(ws, { email: "ann@example.test" });
    await eventually("the delivery", async () => (await deliveries(ws, action.id))[0]?.status === "succeeded");
    const [run] = await deliveries(ws, action.id);

    const replay = await call("POST", `/v1/actions/${action.id}/deliveries/${run.id}/replay`, { key: ws.key });
    expect(replay.status).toBe(202);
    expect(replay.body).toMatchObject({ id: run.id, seq: run.seq, status: "pending" });
    await eventually("the second delivery", async () => received.length === 2);
    await eventually("its success", async () => (await deliveries(ws, action.id))[0]?.status === "succeeded");
    await settled(async () => received.length);
    expect(received.map((r) => r.headers["webhook-id"])).toEqual([run.id, run.id]);
    expect(received[1]?.body).toBe(received[0]?.body);
    const [after] = await deliveries(ws, action.id);
    expect(after.attempts).toHaveLength(2);
    const replayed = (await eventsOf(ws.id)).filter((e) => e.type === "action.delivery_replayed");
    expect(replayed.map((e) => e.data)).toEqual([{ id: action.id, name: action.name, delivery: run.id, seq: run.seq }]);
  });

  it("answers 404 for another workspace's ids, 409 for a paused action or a label action's run", async () => {
    const ws = await newWorkspace();
    const other = await newWorkspace();
    const action = await createAction(ws, { trigger: "member.created", action: { type: "email", text: "Hi" } });
    const labeler = await createAction(ws, { trigger: "member.created", action: { type: "label", add: ["new"] } });
    await addMember(ws, { email: "ann@example.test" });
    await eventually(
      "both runs",
      async () =>
        (await deliveries(ws, action.id))[0]?.status === "succeeded" && (await deliveries(ws, labeler.id)).length === 1,
    );
    const [run] = await deliveries(ws, action.id);
    const [labelRun] = await deliveries(ws, labeler.id);
    const replay = (key: string, actionId: string, runId: string) =>
      call("POST", `/v1/actions/${actionId}/deliveries/${runId}/replay`, { key });
    expect((await replay(other.key, action.id, run.id)).status).toBe(404);
    expect((await replay(ws.key, labeler.id, run.id)).status).toBe(404);
    expect((await replay(ws.key, action.id, "run_unknown")).status).toBe(404);
    const label = await replay(ws.key, labeler.id, labelRun.id);
    expect(label.status).toBe(409);
    expect(label.body.error.code).toBe("not_replayable");
    await call("PATCH", `/v1/actions/${action.id}`, { key: ws.key, body: { paused: true } });
    const paused = await replay(ws.key, action.id, run.id);
    expect(paused.status).toBe(409);
    expect(paused.body.error.code).toBe("action_paused");
    expect((await eventsOf(ws.id)).some((e) => e.type === "action.delivery_replayed")).toBe(false);
  });
});
