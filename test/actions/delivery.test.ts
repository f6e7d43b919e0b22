import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { SWEEP_GRACE_MS } from "../../worker/actions/sweep";
import { attemptDelivery } from "../../worker/actions/webhooks";
import worker from "../../worker/index";
import { eventsOf, rows, shardDb } from "../db";
import { addMember, call, newWorkspace, type Workspace } from "../helpers";
import {
  createAction,
  createWelcomeEmail,
  deliveries,
  eventually,
  mockReceiver,
  restartReadingFrom,
  setCursor,
  settled,
  settledUndoingLoop,
} from "./helpers";

/** The Worker's scheduled handler, as the five-minute Cron Trigger of wrangler.toml runs it. */
async function sweep() {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ cron: "*/5 * * * *" }), env, ctx);
  await waitOnExecutionContext(ctx);
}

/** A webhook action on member.created, a member added, and its delivery made. */
async function deliveredWebhook() {
  const { url, received } = mockReceiver();
  const ws = await newWorkspace();
  const action = await createAction(ws, { trigger: "member.created", action: { type: "webhook", url } });
  await addMember(ws, { email: "ann@example.test" });
  await eventually("the delivery", async () => received.length === 1);
  const [run] = await deliveries(ws, action.id);
  return { ws, action, run, received };
}

/** Long enough ago that the sweep takes a pending run for lost. */
const overdue = () => new Date(Date.now() - SWEEP_GRACE_MS - 60_000).toISOString();

/** A run recorded as a crashed step leaves it: pending, never attempted, never enqueued. */
async function recordRunWithoutEnqueueing(ws: Workspace, actionId: string) {
  const [created] = (await eventsOf(ws.id)).filter((e) => e.type === "action.created");
  const id = `msg_crash${crypto.randomUUID().replaceAll("-", "")}`;
  await (await shardDb(ws.id))
    .prepare(
      `insert into action_runs (id, workspace_id, action_id, seq, event_type, status, attempts, created_at, updated_at, due_at)
     values (?, ?, ?, ?, 'action.created', 'pending', '[]', ?, ?, ?)`,
    )
    .bind(id, ws.id, actionId, created?.seq, overdue(), overdue(), overdue())
    .run();
  return id;
}

describe("delivery is at least once", () => {
  it("a run recorded but never enqueued (a crash in between) is delivered once by the sweep", async () => {
    const { url, received } = mockReceiver();
    const ws = await newWorkspace();
    const action = await createAction(ws, { trigger: "member.created", action: { type: "webhook", url } });
    const runId = await recordRunWithoutEnqueueing(ws, action.id);

    await sweep();
    await eventually("the swept delivery", async () => received.length === 1);
    await sweep();
    await settled(async () => received.length);
    expect(received).toHaveLength(1);
    expect(received[0]?.headers["webhook-id"]).toBe(runId);
    expect(() => new Webhook(action.secret).verify(received[0]?.body ?? "", received[0]?.headers ?? {})).not.toThrow();
    expect(await deliveries(ws, action.id)).toMatchObject([{ id: runId, status: "succeeded", attempts: [{}] }]);
  });

  it("a retry whose message was lost is redelivered by the sweep with the same webhook-id", async () => {
    const { url, received } = mockReceiver((_, n) => (n === 1 ? 500 : 200));
    const ws = await newWorkspace();
    const action = await createAction(ws, { trigger: "member.created", action: { type: "webhook", url } });
    const runId = await recordRunWithoutEnqueueing(ws, action.id);
    // The first attempt fails; the consumer's retry message is then lost (never consumed).
    expect(await attemptDelivery(env, { runId, workspaceId: ws.id })).toEqual({ retry: true, attempt: 1 });
    await (await shardDb(ws.id)).prepare("update action_runs set due_at = ? where id = ?").bind(overdue(), runId).run();

    await sweep();
    await eventually("the redelivery", async () => (await deliveries(ws, action.id))[0]?.status === "succeeded");
    await settled(async () => received.length);
    expect(received.map((r) => r.headers["webhook-id"])).toEqual([runId, runId]);
    for (const req of received) expect(() => new Webhook(action.secret).verify(req.body, req.headers)).not.toThrow();
    const [run] = await deliveries(ws, action.id);
    expect(run.attempts.map((a: { status: number }) => a.status)).toEqual([500, 200]);
  });

  it("a copy of a delivery's message while its attempt is in flight delivers nothing more", async () => {
    const { url, received } = mockReceiver();
    const ws = await newWorkspace();
    const action = await createAction(ws, { trigger: "member.created", action: { type: "webhook", url } });
    const runId = await recordRunWithoutEnqueueing(ws, action.id);
    const outcomes = await Promise.all([
      attemptDelivery(env, { runId, workspaceId: ws.id }),
      attemptDelivery(env, { runId, workspaceId: ws.id }),
    ]);
    expect(received).toHaveLength(1);
    expect(outcomes.every((o) => !o.retry)).toBe(true);
    expect(await deliveries(ws, action.id)).toMatchObject([{ status: "succeeded", attempts: [{}] }]);
  });

  it("a secret stored before secrets were checked to decode fails its run at once, saying why, and posts nothing", async () => {
    const { url, received } = mockReceiver();
    const ws = await newWorkspace();
    const action = await createAction(ws, { trigger: "member.created", action: { type: "webhook", url } });
    // As saved before the check: the pattern let through a length that is not base64.
    await (await shardDb(ws.id))
      .prepare("update actions set secret = ? where id = ?")
      .bind(`whsec_${"A".repeat(33)}`, action.id)
      .run();
    const runId = await recordRunWithoutEnqueueing(ws, action.id);
    expect(await attemptDelivery(env, { runId, workspaceId: ws.id })).toEqual({ retry: false, attempt: 1 });
    expect(received).toHaveLength(0);
    const [run] = await deliveries(ws, action.id);
    expect(run).toMatchObject({
      status: "failed",
      attempts: [{ status: null, error: expect.stringMatching(/not base64/) }],
    });
  });

  it("a copy of a message that comes before the run's backoff is over does not cut it short", async () => {
    const { url, received } = mockReceiver(() => 500);
    const ws = await newWorkspace();
    const action = await createAction(ws, { trigger: "member.created", action: { type: "webhook", url } });
    const runId = await recordRunWithoutEnqueueing(ws, action.id);
    const later = { ...env, WEBHOOK_RETRY_BASE_SECONDS: "60" };
    expect(await attemptDelivery(later, { runId, workspaceId: ws.id })).toEqual({ retry: true, attempt: 1 });
    expect(await attemptDelivery(later, { runId, workspaceId: ws.id })).toEqual({ retry: false, attempt: 0 });
    expect(received).toHaveLength(1);
    const [run] = await deliveries(ws, action.id);
    expect(run).toMatchObject({ status: "pending", attempts: [{ status: 500 }] });
  });

  it("a step repeated after a crash enqueues again a run it had recorded but not sent", async () => {
    const { ws, action, run, received } = await deliveredWebhook();
    // Back to the moment of the crash: the run recorded, nothing attempted, the cursor not moved.
    await (await shardDb(ws.id))
      .prepare("update action_runs set status = 'pending', attempts = '[]', due_at = ? where id = ?")
      .bind(overdue(), run.id)
      .run();
    await restartReadingFrom(ws, run.seq);
    await eventually("the run delivered again", async () => received.length === 2);
    await settled(async () => received.length);
    expect(received.map((r) => r.headers["webhook-id"])).toEqual([run.id, run.id]);
    expect(await deliveries(ws, action.id)).toMatchObject([{ id: run.id, status: "succeeded", attempts: [{}] }]);
  });

  it("the sweep runs the actions of a workspace whose poke was lost while nobody watched", async () => {
    const { ws, action, run, received } = await deliveredWebhook();
    // As if the poke after the member's commit never arrived: no run, the cursor behind.
    await (await shardDb(ws.id)).prepare("delete from action_runs where id = ?").bind(run.id).run();
    await setCursor(ws, run.seq - 1);
    await sweep();
    await eventually("the run", async () => (await deliveries(ws, action.id))[0]?.status === "succeeded");
    expect(received).toHaveLength(2);
  });

  it("an email action's run is not lost either: the sweep sends it once, to the outbox", async () => {
    const ws = await newWorkspace();
    const action = await createWelcomeEmail(ws);
    await addMember(ws, { email: "ann@example.test" });
    const outbox = async () =>
      (await call("GET", "/v1/outbox?to=ann@example.test", { key: ws.key })).body.data.filter(
        (m: { text: string }) => m.text === "Welcome aboard",
      );
    await eventually("the email", async () => (await outbox()).length === 1);
    const [run] = await deliveries(ws, action.id);
    // Crashed after the provider took it but before the run was marked: at least once,
    // and the outbox keeps one message per run.
    await (await shardDb(ws.id))
      .prepare("update action_runs set status = 'pending', attempts = '[]', due_at = ? where id = ?")
      .bind(overdue(), run.id)
      .run();
    await sweep();
    await eventually("the run done again", async () => (await deliveries(ws, action.id))[0]?.status === "succeeded");
    expect(await outbox()).toHaveLength(1);
    expect(await rows(ws.id, "select id from outbox where id = ?", run.id)).toHaveLength(1);
  });
});

describe("each event runs each action once, even when the object restarts mid-run", () => {
  it("a chain (label, then a webhook on the label) read again after an eviction runs nothing twice", async () => {
    const { url, received } = mockReceiver();
    const ws = await newWorkspace();
    const labeler = await createAction(ws, { trigger: "member.created", action: { type: "label", add: ["welcomed"] } });
    const hook = await createAction(ws, {
      trigger: "member.labeled",
      condition: `"welcomed" in member.labels`,
      action: { type: "webhook", url },
    });
    const member = await addMember(ws, { email: "ann@example.test" });
    await eventually("the chain's delivery", async () => received.length === 1);
    await settled(async () => (await eventsOf(ws.id)).length);
    const before = await eventsOf(ws.id);
    const created = before.find((e) => e.type === "member.created");
    if (!created) throw new Error("no member.created");

    await restartReadingFrom(ws, created.seq);
    await sweep();
    await settled(async () => [(await eventsOf(ws.id)).length, received.length]);

    expect(await eventsOf(ws.id)).toEqual(before);
    expect(received).toHaveLength(1);
    expect(await deliveries(ws, labeler.id)).toMatchObject([{ status: "succeeded" }]);
    expect(await deliveries(ws, hook.id)).toMatchObject([{ status: "succeeded", attempts: [{ status: 200 }] }]);
    const got = await call("GET", `/v1/members/${member.id}`, { key: ws.key });
    expect(got.body.labels).toEqual(["welcomed"]);
  });

  it("a label action read again does not bring back its label, deleted since", async () => {
    const ws = await newWorkspace();
    await createAction(ws, { trigger: "member.created", action: { type: "label", add: ["welcomed"] } });
    await addMember(ws, { email: "ann@example.test" });
    await eventually("the label", async () => (await eventsOf(ws.id)).some((e) => e.type === "member.labeled"));
    expect((await call("DELETE", "/v1/labels/welcomed", { key: ws.key })).status).toBe(204);
    await settled(async () => (await eventsOf(ws.id)).length);
    const before = await eventsOf(ws.id);
    const created = before.find((e) => e.type === "member.created");
    if (!created) throw new Error("no member.created");

    await restartReadingFrom(ws, created.seq);
    await settled(async () => (await eventsOf(ws.id)).length);

    expect(await eventsOf(ws.id)).toEqual(before);
    const labels = await call("GET", "/v1/labels", { key: ws.key });
    expect(labels.body.data.map((l: { slug: string }) => l.slug)).not.toContain("welcomed");
  });

  it("a loop stopped after a few links stays stopped when the log is read again", async () => {
    const ws = await newWorkspace();
    const { remover, adder } = await settledUndoingLoop(ws);
    const before = await eventsOf(ws.id);
    const first = before.find((e) => e.type === "member.labeled");
    if (!first) throw new Error("no member.labeled");

    await restartReadingFrom(ws, first.seq);
    await settled(async () => (await eventsOf(ws.id)).length, 1000);

    expect(await eventsOf(ws.id)).toEqual(before);
    expect(before.filter((e) => (e.data as { causedBy?: unknown }).causedBy)).toHaveLength(3);
    expect(await deliveries(ws, remover.id)).toHaveLength(2);
    expect(await deliveries(ws, adder.id)).toHaveLength(1);
  });
});
