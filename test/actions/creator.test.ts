import { describe, expect, it } from "vitest";
import { eventsOf, logHead, shardDb } from "../db";
import { addMember, addRole, call, keyForRole, newWorkspace, type Workspace } from "../helpers";
import { configureSms, newNumber, postInbound, smsParams } from "../provider/twilio";
import {
  createAction,
  createWelcomeEmail,
  deliveries,
  eventually,
  HOOKS,
  mockReceiver,
  restartReadingFrom,
  settled,
} from "./helpers";

/** A member of a new role with these scopes, and their key. */
async function memberWith(ws: Workspace, scopes: string[], role = "automator") {
  await addRole(ws, role, scopes);
  return keyForRole(ws, role);
}

const postAction = (key: string, body: Record<string, unknown>) =>
  call("POST", "/v1/actions", { key, body: { name: "An action", ...body } });

/**
 * Adds a member and waits until the owner's welcome email action has run for it: the
 * workspace's actions have then all been judged for that event (one pass runs every
 * action for an event), so an action without a run for it did not run.
 */
async function addMemberAndWaitForActions(ws: Workspace, welcome: { id: string }, email: string) {
  const member = await addMember(ws, { email });
  const created = (await eventsOf(ws.id)).find(
    (e) => e.type === "member.created" && (e.data as { member: { id: string } }).member.id === member.id,
  );
  if (!created) throw new Error("no member.created");
  const seq = created.seq;
  await eventually("the welcome run", async () => (await deliveries(ws, welcome.id)).some((r) => r.seq === seq));
  return { member, seq };
}

describe("creating an action needs the scopes of what it reads and does", () => {
  it("a role with only automations:admin may not stream every inbound text out through message.received", async () => {
    const ws = await newWorkspace();
    const { key } = await memberWith(ws, ["automations:admin"]);
    const before = await logHead(ws.id);
    const res = await postAction(key, {
      trigger: "message.received",
      action: { type: "webhook", url: "https://hooks.example.test/exfiltrate" },
    });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe("scope_exceeds_caller");
    expect(res.body.error.message).toContain("members:admin");
    expect(res.body.error.message).toContain("inbound text");
    expect((await call("GET", "/v1/actions", { key: ws.key })).body.data).toEqual([]);
    expect(await logHead(ws.id)).toBe(before);
  });

  it.each([
    [
      "a member trigger",
      ["automations:admin"],
      "member.created",
      { type: "webhook", url: "https://h.test/a" },
      ["members:read"],
    ],
    [
      "join_request.created, which carries the requester's contact details",
      ["automations:admin", "members:admin"],
      "join_request.created",
      { type: "webhook", url: "https://h.test/a" },
      ["join_requests:read"],
    ],
    [
      "message.received with members:write",
      ["automations:admin", "members:write"],
      "message.received",
      { type: "webhook", url: "https://h.test/a" },
      ["members:admin"],
    ],
    [
      "a label action",
      ["automations:admin", "members:read"],
      "member.created",
      { type: "label", add: ["x"] },
      ["members:write", "labels:write"],
    ],
    [
      "a label action without labels:write",
      ["automations:admin", "members:write"],
      "member.created",
      { type: "label", remove: ["x"] },
      ["labels:write"],
    ],
    [
      "an email action",
      ["automations:admin", "members:read", "labels:admin"],
      "member.labeled",
      { type: "email", text: "Hi" },
      ["members:write"],
    ],
    [
      "an SMS action",
      ["automations:admin", "join_requests:admin"],
      "join_request.created",
      { type: "sms", text: "Hi" },
      ["members:write"],
    ],
  ])("answers 403 for %s, naming the missing scopes", async (_, scopes, trigger, action, missing) => {
    const ws = await newWorkspace();
    const { key } = await memberWith(ws, scopes);
    const res = await postAction(key, { trigger, action });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe("scope_exceeds_caller");
    expect(res.body.error.message).toContain(`needs ${missing.join(", ")}, which you do not hold`);
  });

  it("a key narrowed below its member's role may not create what the role could", async () => {
    const ws = await newWorkspace();
    const narrowed = await call("POST", "/v1/api-keys", {
      key: ws.key,
      body: { name: "Automations only", scopes: ["automations:admin"] },
    });
    const res = await postAction(narrowed.body.key, {
      trigger: "member.created",
      action: { type: "webhook", url: "https://h.test/a" },
    });
    expect(res.status).toBe(403);
    expect(res.body.error.message).toContain("members:read");
  });

  it("a role holding exactly what each action needs creates it, recorded as its creator", async () => {
    const ws = await newWorkspace({ allowJoinRequests: true });
    const { member, key } = await memberWith(ws, [
      "automations:admin",
      "members:admin",
      "labels:write",
      "join_requests:read",
    ]);
    const made = [
      await postAction(key, { trigger: "message.received", action: { type: "webhook", url: "https://h.test/a" } }),
      await postAction(key, { trigger: "join_request.created", action: { type: "sms", text: "Hi" } }),
      await postAction(key, { trigger: "member.labeled", action: { type: "label", add: ["seen"] } }),
    ];
    for (const res of made) {
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ createdBy: member.id, paused: false, pausedAt: null, pausedReason: null });
    }
    const got = await call("GET", `/v1/actions/${made[0]?.body.id}`, { key: ws.key });
    expect(got.body).toMatchObject({ createdBy: member.id, paused: false, pausedReason: null });
  });
});

describe("an action whose creator no longer stands behind it pauses", () => {
  it("a message.received webhook pauses, delivering nothing, once its creator's role loses members:admin", async () => {
    const { url, received } = mockReceiver();
    const ws = await newWorkspace();
    await configureSms(ws);
    const { member, key } = await memberWith(ws, ["automations:admin", "members:admin"]);
    const res = await postAction(key, { trigger: "message.received", action: { type: "webhook", url } });
    expect(res.status).toBe(201);
    const edited = await call("PATCH", "/v1/roles/automator", {
      key: ws.key,
      body: { scopes: ["automations:admin", "members:write"] },
    });
    expect(edited.status).toBe(200);

    expect((await postInbound(ws.id, "sms", smsParams(newNumber(), "my one-time code is 123456"))).status).toBe(200);

    await eventually("the pause", async () => (await deliveries(ws, res.body.id)).length === 1);
    const [run] = await deliveries(ws, res.body.id);
    const reason = `Its creator (${member.id}) no longer holds members:admin, which it needs.`;
    expect(run).toMatchObject({ eventType: "message.received", status: "paused", attempts: [{ error: reason }] });
    const action = await call("GET", `/v1/actions/${res.body.id}`, { key: ws.key });
    expect(action.body).toMatchObject({ paused: true, pausedReason: reason, pausedAt: expect.any(String) });
    expect(received).toHaveLength(0);
    const paused = (await eventsOf(ws.id)).filter((e) => e.type === "action.paused");
    expect(paused).toEqual([expect.objectContaining({ data: { id: res.body.id, name: "An action", reason } })]);
  });

  it.each([
    [
      "was archived",
      (ws: Workspace, id: string) => call("POST", `/v1/members/${id}/archive`, { key: ws.key }),
      /is archived/,
    ],
    [
      "was given a role without the scopes",
      async (ws: Workspace, id: string) => {
        await addRole(ws, "reader", ["members:read"]);
        return call("PATCH", `/v1/members/${id}`, { key: ws.key, body: { role: "reader" } });
      },
      /no longer holds automations:admin/,
    ],
    [
      "has a role that gained a condition",
      (ws: Workspace) =>
        call("PATCH", "/v1/roles/automator", { key: ws.key, body: { condition: `!("vip" in member.labels)` } }),
      /role with a condition/,
    ],
  ])("when its creator %s, and stays paused for later events", async (_, lose, reason) => {
    const { url, received } = mockReceiver();
    const ws = await newWorkspace();
    const welcome = await createWelcomeEmail(ws);
    const { member, key } = await memberWith(ws, ["automations:admin", "members:read"]);
    const hook = await postAction(key, { trigger: "member.created", action: { type: "webhook", url } });
    expect(hook.status).toBe(201);
    expect((await lose(ws, member.id)).status).toBe(200);

    const first = await addMemberAndWaitForActions(ws, welcome, "ann@example.test");
    await addMemberAndWaitForActions(ws, welcome, "bob@example.test");

    const runs = await deliveries(ws, hook.body.id);
    expect(runs).toEqual([expect.objectContaining({ seq: first.seq, status: "paused" })]);
    expect(runs[0].attempts[0].error).toMatch(reason);
    const action = await call("GET", `/v1/actions/${hook.body.id}`, { key: ws.key });
    expect(action.body.paused).toBe(true);
    expect(action.body.pausedReason).toMatch(reason);
    expect(received).toHaveLength(0);
  });

  it("stays paused when its creator holds the scopes again: it must be created again", async () => {
    const { url, received } = mockReceiver();
    const ws = await newWorkspace();
    const welcome = await createWelcomeEmail(ws);
    const { member, key } = await memberWith(ws, ["automations:admin", "members:read"]);
    const hook = await postAction(key, { trigger: "member.created", action: { type: "webhook", url } });
    await call("POST", `/v1/members/${member.id}/archive`, { key: ws.key });
    await addMemberAndWaitForActions(ws, welcome, "ann@example.test");
    expect((await call("POST", `/v1/members/${member.id}/unarchive`, { key: ws.key })).status).toBe(200);

    await addMemberAndWaitForActions(ws, welcome, "bob@example.test");
    expect(await deliveries(ws, hook.body.id)).toEqual([expect.objectContaining({ status: "paused" })]);
    expect(received).toHaveLength(0);

    const again = await postAction(key, { trigger: "member.created", action: { type: "webhook", url } });
    expect(again.status).toBe(201);
    await addMember(ws, { email: "cy@example.test" });
    await eventually("the new action's delivery", async () => received.length === 1);
  });

  it("a label action pauses when its creator loses labels:write, and labels nobody", async () => {
    const ws = await newWorkspace();
    const welcome = await createWelcomeEmail(ws);
    const { key } = await memberWith(ws, ["automations:admin", "members:write", "labels:write"]);
    const labeler = await postAction(key, { trigger: "member.created", action: { type: "label", add: ["vip"] } });
    expect(labeler.status).toBe(201);
    await call("PATCH", "/v1/roles/automator", {
      key: ws.key,
      body: { scopes: ["automations:admin", "members:write"] },
    });

    const { member } = await addMemberAndWaitForActions(ws, welcome, "ann@example.test");
    expect(await deliveries(ws, labeler.body.id)).toMatchObject([
      { status: "paused", attempts: [{ error: expect.stringContaining("labels:write") }] },
    ]);
    expect((await call("GET", `/v1/members/${member.id}`, { key: ws.key })).body.labels).toEqual([]);
    expect((await eventsOf(ws.id)).some((e) => e.type === "member.labeled")).toBe(false);
  });

  it("a delivery recorded while its creator held the scopes is not made once they are lost", async () => {
    const ws = await newWorkspace();
    const { member, key } = await memberWith(ws, ["automations:admin", "members:read"]);
    // The receiver fails the first attempt; meanwhile the creator is archived, so the retry finds them gone.
    const { url, received } = mockReceiver(async (_, n) => {
      if (n === 1) await call("POST", `/v1/members/${member.id}/archive`, { key: ws.key });
      return n === 1 ? 500 : 200;
    });
    const hook = await postAction(key, { trigger: "member.created", action: { type: "webhook", url } });
    await addMember(ws, { email: "ann@example.test" });

    await eventually("the paused run", async () => (await deliveries(ws, hook.body.id))[0]?.status === "paused");
    const [run] = await deliveries(ws, hook.body.id);
    expect(run.attempts).toMatchObject([
      { status: 500 },
      { status: null, error: expect.stringMatching(/is archived/) },
    ]);
    expect(received).toHaveLength(1);
    expect((await call("GET", `/v1/actions/${hook.body.id}`, { key: ws.key })).body.paused).toBe(true);
    expect((await eventsOf(ws.id)).filter((e) => e.type === "action.paused")).toHaveLength(1);
  });

  it("an action created before creators were recorded pauses at its next run, saying so", async () => {
    const { url, received } = mockReceiver();
    const ws = await newWorkspace();
    const welcome = await createWelcomeEmail(ws);
    const legacy = await createAction(ws, { trigger: "member.created", action: { type: "webhook", url } });
    // As the migration leaves an action saved before it: no creator.
    await (await shardDb(ws.id)).prepare("update actions set created_by = null where id = ?").bind(legacy.id).run();
    expect((await call("GET", `/v1/actions/${legacy.id}`, { key: ws.key })).body.createdBy).toBeNull();

    await addMemberAndWaitForActions(ws, welcome, "ann@example.test");
    expect(await deliveries(ws, legacy.id)).toMatchObject([
      { status: "paused", attempts: [{ error: expect.stringContaining("created before actions recorded") }] },
    ]);
    expect(received).toHaveLength(0);
  });

  it("a pause read again after the object restarts writes nothing twice, and the other actions ran once", async () => {
    const ws = await newWorkspace();
    const welcome = await createWelcomeEmail(ws);
    const { member, key } = await memberWith(ws, ["automations:admin", "members:read"]);
    const hook = await postAction(key, { trigger: "member.created", action: { type: "webhook", url: HOOKS } });
    expect(hook.status).toBe(201);
    await call("POST", `/v1/members/${member.id}/archive`, { key: ws.key });
    const { seq } = await addMemberAndWaitForActions(ws, welcome, "ann@example.test");
    await settled(async () => (await eventsOf(ws.id)).length);
    const before = {
      events: await eventsOf(ws.id),
      paused: await deliveries(ws, hook.body.id),
      welcomed: await deliveries(ws, welcome.id),
    };
    expect(before.paused).toMatchObject([{ seq, status: "paused" }]);

    await restartReadingFrom(ws, seq);
    await settled(async () => (await eventsOf(ws.id)).length);

    expect(await eventsOf(ws.id)).toEqual(before.events);
    expect(await deliveries(ws, hook.body.id)).toEqual(before.paused);
    expect(await deliveries(ws, welcome.id)).toEqual(before.welcomed);
    expect(before.welcomed.filter((r) => r.seq === seq)).toMatchObject([{ status: "succeeded" }]);
  });
});
