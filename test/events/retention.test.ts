import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../worker/index";
import { createAction, deliveries, eventually, mockReceiver, setCursor, settled } from "../actions/helpers";
import { eventsOf, logHead, shardDb } from "../db";
import { addMember, call, newWorkspace, type Workspace } from "../helpers";
import { openLive } from "../live/sockets";

const DAY_MS = 24 * 60 * 60 * 1000;

/** The Worker's scheduled handler, as the hourly Cron Trigger of wrangler.toml runs it. */
async function hourlySweep() {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ cron: "17 * * * *" }), env, ctx);
  await waitOnExecutionContext(ctx);
}

/** Dates every event of the workspace `days` ago, as if it had been logged then. */
async function ageEvents(ws: Workspace, days: number) {
  await (await shardDb(ws.id))
    .prepare("update events set at = ? where workspace_id = ?")
    .bind(new Date(Date.now() - days * DAY_MS).toISOString(), ws.id)
    .run();
}

const seqs = async (ws: Workspace) => (await eventsOf(ws.id)).map((e) => e.seq);

const keepFor = (ws: Workspace, days: number | null) =>
  call("PATCH", "/v1/workspace", { key: ws.key, body: { eventRetentionDays: days } });

describe("eventRetentionDays", () => {
  it("is null by default, settable from 1 to 3650 days or back to null, and logged in workspace.updated", async () => {
    const ws = await newWorkspace();
    expect((await call("GET", "/v1/workspace", { key: ws.key })).body.eventRetentionDays).toBeNull();
    for (const bad of [0, 3651, 1.5, "30", -1]) {
      const res = await keepFor(ws, bad as number);
      expect(res.status, String(bad)).toBe(422);
      expect(res.body.error.code).toBe("validation_failed");
    }
    const set = await keepFor(ws, 30);
    expect(set.status).toBe(200);
    expect(set.body.eventRetentionDays).toBe(30);
    expect((await call("GET", "/v1/workspace", { key: ws.key })).body.eventRetentionDays).toBe(30);
    expect((await keepFor(ws, null)).body.eventRetentionDays).toBeNull();
    const updates = (await eventsOf(ws.id)).filter((e) => e.type === "workspace.updated").map((e) => e.data);
    expect(updates).toEqual([{ eventRetentionDays: 30 }, { eventRetentionDays: null }]);
  });

  it("the hourly sweep deletes older events but keeps the latest, so seq goes on; other workspaces keep theirs", async () => {
    const ws = await newWorkspace();
    const forever = await newWorkspace();
    const recent = await newWorkspace();
    for (const w of [ws, forever, recent]) {
      await addMember(w, { email: "ann@example.test" });
      await addMember(w, { email: "bob@example.test" });
    }
    expect((await keepFor(ws, 7)).status).toBe(200);
    expect((await keepFor(recent, 7)).status).toBe(200);
    await ageEvents(ws, 10);
    await ageEvents(forever, 10);
    const before = { ws: await seqs(ws), forever: await seqs(forever), recent: await seqs(recent) };
    const head = await logHead(ws.id);

    await hourlySweep();

    expect(await seqs(ws)).toEqual([head]);
    expect(await seqs(forever)).toEqual(before.forever);
    expect(await seqs(recent)).toEqual(before.recent);
    await addMember(ws, { email: "cat@example.test" });
    expect(await seqs(ws)).toEqual([head, head + 1]);
  });

  it("keeps events a pending delivery or an action has yet to run for, and what follows them", async () => {
    const { url, received } = mockReceiver();
    const ws = await newWorkspace();
    const action = await createAction(ws, { trigger: "member.created", action: { type: "webhook", url } });
    const ids: string[] = [];
    for (const name of ["ann", "bob", "cat"]) ids.push((await addMember(ws, { email: `${name}@example.test` })).id);
    await eventually("the deliveries", async () => received.length === 3);
    await settled(async () => [await logHead(ws.id), await deliveries(ws, action.id)]);
    const log = await eventsOf(ws.id);
    const createdSeq = (id: string | undefined) =>
      log.find((e) => e.type === "member.created" && (e.data as { member: { id: string } }).member.id === id)?.seq ?? 0;
    const [ann, bob, cat] = ids.map(createdSeq) as [number, number, number];
    expect(ann).toBeGreaterThan(1);
    const db = await shardDb(ws.id);
    // Ann's delivery waits for a retry (not due before the test ends), as after a failed attempt.
    const later = new Date(Date.now() + DAY_MS).toISOString();
    await db
      .prepare("update action_runs set status = 'pending', due_at = ? where workspace_id = ? and seq = ?")
      .bind(later, ws.id, ann)
      .run();
    await db.prepare("update workspaces set event_retention_days = 1 where id = ?").bind(ws.id).run();
    await ageEvents(ws, 2);

    await hourlySweep();
    expect((await seqs(ws))[0]).toBe(ann);

    // Delivered after all; but the action has not read past Bob's event yet.
    await db
      .prepare("update action_runs set status = 'succeeded' where workspace_id = ? and seq = ?")
      .bind(ws.id, ann)
      .run();
    await setCursor(ws, bob - 1);
    await hourlySweep();
    expect((await seqs(ws))[0]).toBe(bob);

    // Read up to Cat's event: all but the latest event may go.
    await setCursor(ws, cat);
    await hourlySweep();
    expect(await seqs(ws)).toEqual([await logHead(ws.id)]);

    // Ann's event is gone: her delivery cannot be made again, and stays as it was.
    const annRun = (await deliveries(ws, action.id)).find((d) => d.seq === ann);
    const replay = await call("POST", `/v1/actions/${action.id}/deliveries/${annRun.id}/replay`, { key: ws.key });
    expect(replay.status).toBe(410);
    expect(replay.body.error.code).toBe("event_expired");
    expect((await deliveries(ws, action.id)).find((d) => d.seq === ann)).toMatchObject({ status: "succeeded" });
  });

  it("GET /v1/events and a live socket resuming from before the oldest kept event start there, the socket told", async () => {
    const ws = await newWorkspace();
    for (const name of ["ann", "bob", "cat"]) await addMember(ws, { email: `${name}@example.test` });
    expect((await keepFor(ws, 1)).status).toBe(200);
    await ageEvents(ws, 2);
    await addMember(ws, { email: "dan@example.test" });
    await addMember(ws, { email: "eve@example.test" });
    const before = await seqs(ws);
    const head = await logHead(ws.id);
    await hourlySweep();
    const kept = await seqs(ws);
    const oldest = head - 1;
    expect(kept).toEqual([oldest, head]);
    expect(before.length).toBeGreaterThan(kept.length);

    const page = await call("GET", "/v1/events?after=1", { key: ws.key });
    expect(page.status).toBe(200);
    expect(page.body.data.map((e: { seq: number }) => e.seq)).toEqual(kept);

    const resumed = await openLive({ key: ws.key, after: 1 });
    expect(resumed.messages).toMatchObject([
      { type: "reset", oldest },
      { seq: oldest, type: "member.created" },
      { seq: head, type: "member.created" },
      { type: "ready", head },
    ]);
    resumed.ws.close();

    // A client that saw everything up to the oldest kept event missed nothing: no reset.
    const caughtUp = await openLive({ key: ws.key, after: oldest - 1 });
    expect(caughtUp.messages).toMatchObject([{ seq: oldest }, { seq: head }, { type: "ready", head }]);
    expect(caughtUp.messages).toHaveLength(3);
    caughtUp.ws.close();
  });
});
