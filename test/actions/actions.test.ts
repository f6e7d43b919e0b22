import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { describe, expect, it, vi } from "vitest";
import { refusedWebhookUrl } from "../../worker/actions/url";
import { backoffSeconds, consumeWebhooks, MAX_ATTEMPTS } from "../../worker/actions/webhooks";
import { eventsOf, shardDb } from "../db";
import { addMember, call, newWorkspace } from "../helpers";
import { configureSms, newNumber, postInbound, smsParams } from "../provider/twilio";
import {
  createAction,
  createWelcomeEmail,
  deliveries,
  eventually,
  HOOKS,
  mockReceiver,
  settled,
  settledUndoingLoop,
} from "./helpers";

describe("actions", () => {
  it("creates a webhook action, shows its generated secret once, lists, gets and deletes it", async () => {
    const ws = await newWorkspace();
    const created = await createAction(ws, {
      trigger: "member.created",
      action: { type: "webhook", url: `${HOOKS}/a` },
    });
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(created).toMatchObject({ trigger: "member.created", condition: null, action: { type: "webhook" } });
    const got = await call("GET", `/v1/actions/${created.id}`, { key: ws.key });
    expect(got.status).toBe(200);
    expect(got.body.secret).toBeUndefined();
    const listed = await call("GET", "/v1/actions", { key: ws.key });
    expect(listed.body.data.map((a: { id: string }) => a.id)).toEqual([created.id]);
    expect((await call("DELETE", `/v1/actions/${created.id}`, { key: ws.key })).status).toBe(204);
    expect((await call("GET", `/v1/actions/${created.id}`, { key: ws.key })).status).toBe(404);
    expect((await call("DELETE", `/v1/actions/${created.id}`, { key: ws.key })).status).toBe(404);
  });

  it("does not show a secret the caller chose", async () => {
    const ws = await newWorkspace();
    const secret = `whsec_${btoa("0123456789abcdef0123456789abcdef")}`;
    const created = await createAction(ws, {
      trigger: "member.created",
      action: { type: "webhook", url: HOOKS, secret },
    });
    expect(created.secret).toBeUndefined();
  });

  it.each([
    ["an invalid condition, with its position", { condition: `member.name ==` }, "condition"],
    ["a condition that is not a bool", { condition: `member.name` }, "condition"],
    ["a too costly condition", { condition: `${"(".repeat(40)}true${")".repeat(40)}` }, "condition"],
    ["an unknown trigger", { trigger: "member.exploded" }, "trigger"],
    ["a URL that is not http(s)", { action: { type: "webhook", url: "ftp://x.test/" } }, "action.url"],
    ["a label action without labels", { action: { type: "label" } }, "action"],
    [
      "a label action on join requests",
      { trigger: "join_request.created", action: { type: "label", add: ["x"] } },
      "action.type",
    ],
  ])("answers 422 for %s", async (_, override, path) => {
    const ws = await newWorkspace();
    const res = await call("POST", "/v1/actions", {
      key: ws.key,
      body: { name: "A", trigger: "member.created", action: { type: "webhook", url: HOOKS }, ...override },
    });
    expect(res.status).toBe(422);
    expect(res.body.error.issues[0].path).toBe(path);
    if (path === "condition" && "condition" in override && override.condition === "member.name ==") {
      expect(res.body.error.issues[0]).toMatchObject({ line: 1, column: 15 });
    }
  });

  // Base64 lengths and paddings that atob refuses: such a secret could never sign a delivery.
  it.each([`whsec_${"A".repeat(33)}`, `whsec_${"A".repeat(32)}=`, `whsec_${"A".repeat(37)}`])(
    "answers 422 for the secret %s, which is not base64",
    async (secret) => {
      const ws = await newWorkspace();
      const res = await call("POST", "/v1/actions", {
        key: ws.key,
        body: { name: "A", trigger: "member.created", action: { type: "webhook", url: HOOKS, secret } },
      });
      expect(res.status).toBe(422);
      expect(res.body.error.issues).toEqual([{ path: "action.secret", message: expect.any(String) }]);
    },
  );

  it("never quotes a refused secret back", async () => {
    const ws = await newWorkspace();
    for (const secret of [9182736455463728, ["whsec_9182736455463728"], `whsec_9182736455463728!`]) {
      const res = await call("POST", "/v1/actions", {
        key: ws.key,
        body: { name: "A", trigger: "member.created", action: { type: "webhook", url: HOOKS, secret } },
      });
      expect(res.status).toBe(422);
      expect(res.body.error.issues).toEqual([{ path: "action.secret", message: expect.any(String) }]);
      expect(JSON.stringify(res.body)).not.toContain("9182736455463728");
    }
  });

  it.each([
    "https://user:pass@hooks.example.test/",
    "http://localhost.example.internal/",
    "https://metadata.google.internal/computeMetadata/v1/",
    "http://printer.local/",
    "http://intranet/",
    "http://10.1.2.3/",
    "http://172.20.0.1:8080/",
    "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://0.0.0.0/",
    "http://[fd00::1]/",
    "http://[fe80::1]/",
    "http://[::ffff:127.0.0.1]/",
    "https://app.localhost/",
    "http://0.1.2.3/",
    "http://100.64.0.1/",
    "http://192.0.0.8/",
    "http://192.88.99.1/",
    "http://198.18.0.1/",
    "http://240.0.0.1/",
    "http://224.0.0.251/",
    "http://[ff02::1]/",
    "http://[2001::1]/",
    "http://[2002:c0a8:101::1]/",
    "http://[fec0::1]/",
    "http://[::ffff:100.64.0.1]/",
  ])("answers 422 naming action.url for an internal or credentialed URL: %s", async (url) => {
    const ws = await newWorkspace();
    const res = await call("POST", "/v1/actions", {
      key: ws.key,
      body: { name: "A", trigger: "member.created", action: { type: "webhook", url } },
    });
    expect(res.status).toBe(422);
    expect(res.body.error.issues[0].path).toBe("action.url");
  });

  it("accepts http://localhost only where WEBHOOK_ALLOW_LOCALHOST allows it (tests, wrangler dev)", async () => {
    const ws = await newWorkspace();
    const local = await call("POST", "/v1/actions", {
      key: ws.key,
      body: { name: "A", trigger: "member.created", action: { type: "webhook", url: "http://localhost:9999/hook" } },
    });
    expect(local.status).toBe(201);
    expect(refusedWebhookUrl("http://localhost:9999/hook", { ...env, WEBHOOK_ALLOW_LOCALHOST: "1" })).toBeNull();
    expect(refusedWebhookUrl("http://localhost:9999/hook", { ...env, WEBHOOK_ALLOW_LOCALHOST: undefined })).toMatch(
      /local/,
    );
    expect(refusedWebhookUrl("http://127.0.0.1/", { ...env, WEBHOOK_ALLOW_LOCALHOST: undefined })).toMatch(/public/);
    expect(refusedWebhookUrl("https://hooks.example.com/x", { ...env, WEBHOOK_ALLOW_LOCALHOST: undefined })).toBeNull();
  });

  it("does not deliver to a URL refused since the action was saved: the run fails, with why", async () => {
    const ws = await newWorkspace();
    const action = await createAction(ws, { trigger: "member.created", action: { type: "webhook", url: HOOKS } });
    await (await shardDb(ws.id))
      .prepare("update actions set action = json(?) where id = ?")
      .bind(JSON.stringify({ type: "webhook", url: "http://169.254.169.254/latest/meta-data/" }), action.id)
      .run();
    await addMember(ws, { email: "ann@example.test" });
    await eventually("the failed run", async () => (await deliveries(ws, action.id))[0]?.status === "failed");
    const [run] = await deliveries(ws, action.id);
    expect(run.attempts).toHaveLength(1);
    expect(run.attempts[0].error).toMatch(/public address/);
  });

  it("needs the automations scopes", async () => {
    const ws = await newWorkspace();
    const { keyForRole } = await import("../helpers");
    const reader = await keyForRole(ws, "user");
    expect((await call("GET", "/v1/actions", { key: reader.key })).status).toBe(403);
  });
});

describe("triggers", () => {
  it("fire each action once per event, with Standard Webhooks signatures the library verifies", async () => {
    const { url: hook, received } = mockReceiver();
    const ws = await newWorkspace({ allowJoinRequests: true });
    await configureSms(ws);
    const triggers = [
      "member.created",
      "member.updated",
      "member.archived",
      "member.merged",
      "member.labeled",
      "member.unlabeled",
      "join_request.created",
      "message.received",
    ];
    const made = new Map<string, { id: string; secret: string }>();
    for (const trigger of triggers) {
      made.set(trigger, await createAction(ws, { trigger, action: { type: "webhook", url: `${hook}/${trigger}` } }));
    }
    const member = await addMember(ws, { email: "ann@example.test", name: "Ann" });
    await call("PATCH", `/v1/members/${member.id}`, { key: ws.key, body: { name: "Ann B" } });
    await call("POST", `/v1/members/${member.id}/labels`, { key: ws.key, body: { labels: ["vip"] } });
    await call("DELETE", `/v1/members/${member.id}/labels/vip`, { key: ws.key });
    const joined = await call("POST", `/public/${ws.slug}/join-requests`, {
      body: { name: "Jo", email: "jo@example.test" },
      headers: { "CF-Connecting-IP": "203.0.113.9" },
    });
    expect(joined.status).toBe(202);
    expect((await postInbound(ws.id, "sms", smsParams(newNumber(), "hello"))).status).toBe(200);
    const anonymous = (await call("GET", "/v1/members?status=anonymous", { key: ws.key })).body.data[0];
    const merged = await call("POST", `/v1/members/${anonymous.id}/resolve`, {
      key: ws.key,
      body: { targetId: member.id },
    });
    expect(merged.status).toBe(200);
    const other = await addMember(ws, { email: "bob@example.test" });
    await call("POST", `/v1/members/${other.id}/archive`, { key: ws.key });

    const log = await eventsOf(ws.id);
    const start = Math.max(...log.filter((e) => e.type === "action.created").map((e) => e.seq));
    const expected = new Map(triggers.map((t) => [t, log.filter((e) => e.seq > start && e.type === t).length]));
    // Two members added and one anonymous member from the text: three member.created.
    expect(expected.get("member.created")).toBe(3);
    for (const trigger of triggers) expect(expected.get(trigger)).toBeGreaterThanOrEqual(1);
    const total = [...expected.values()].reduce((a, b) => a + b, 0);
    await eventually("every delivery", async () => received.length >= total);
    await settled(async () => received.length);
    expect(received).toHaveLength(total);

    for (const trigger of triggers) {
      const action = made.get(trigger);
      if (!action) throw new Error("missing action");
      const mine = received.filter((r) => r.url === `${hook}/${trigger}`);
      expect(mine).toHaveLength(expected.get(trigger) ?? 0);
      const verifier = new Webhook(action.secret);
      for (const req of mine) {
        const payload = verifier.verify(req.body, req.headers) as { type: string; timestamp: string; data: unknown };
        expect(payload.type).toBe(trigger);
        expect(Number.isNaN(Date.parse(payload.timestamp))).toBe(false);
      }
      const runs = await deliveries(ws, action.id);
      expect(runs).toHaveLength(expected.get(trigger) ?? 0);
      expect(new Set(runs.map((r) => r.seq)).size).toBe(runs.length);
      expect(runs.every((r) => r.status === "succeeded" && r.attempts.length === 1)).toBe(true);
    }
    // A tampered body fails verification.
    const first = received[0];
    const action = first && [...made.entries()].find(([t]) => first.url.endsWith(`/${t}`))?.[1];
    expect(() => new Webhook(action?.secret ?? "").verify(`${first?.body} `, first?.headers ?? {})).toThrow();
  });

  it("runs for events after the action's creation only, none missed when writes race", async () => {
    const { url: hook, received } = mockReceiver();
    const ws = await newWorkspace();
    await addMember(ws, { email: "before@example.test" });
    const action = await createAction(ws, { trigger: "member.created", action: { type: "webhook", url: hook } });
    await Promise.all(Array.from({ length: 6 }, (_, i) => addMember(ws, { email: `m${i}@example.test` })));
    await eventually("six deliveries", async () => (await deliveries(ws, action.id)).length === 6);
    await settled(async () => received.length);
    expect(received).toHaveLength(6);
    const ids = received.map((r) => (JSON.parse(r.body) as { data: { member: { email: string } } }).data.member.email);
    expect(ids.sort()).toEqual(Array.from({ length: 6 }, (_, i) => `m${i}@example.test`));
  });

  it("run only when their CEL condition holds", async () => {
    const { url: hook, received } = mockReceiver();
    const ws = await newWorkspace();
    const action = await createAction(ws, {
      trigger: "member.created",
      condition: `"vip" in member.labels && event.type == "member.created"`,
      action: { type: "webhook", url: hook },
    });
    await addMember(ws, { email: "plain@example.test" });
    const vip = await addMember(ws, { email: "vip@example.test", labels: ["vip"] });
    await eventually("the vip's delivery", async () => received.length === 1);
    await settled(async () => received.length);
    expect(received).toHaveLength(1);
    expect(JSON.parse(received[0]?.body ?? "{}").data.member.id).toBe(vip.id);
    expect(await deliveries(ws, action.id)).toHaveLength(1);
  });
});

describe("label, email and SMS actions", () => {
  it("labels the member, once, and marks the event as the action's", async () => {
    const ws = await newWorkspace();
    const action = await createAction(ws, { trigger: "member.created", action: { type: "label", add: ["new"] } });
    const member = await addMember(ws, { email: "ann@example.test" });
    await eventually("the label", async () =>
      (await call("GET", `/v1/members/${member.id}`, { key: ws.key })).body.labels.includes("new"),
    );
    const runs = await deliveries(ws, action.id);
    expect(runs).toHaveLength(1);
    expect(runs[0].status).toBe("succeeded");
    const labeled = (await eventsOf(ws.id)).filter((e) => e.type === "member.labeled");
    expect(labeled).toHaveLength(1);
    expect(labeled[0]?.data).toMatchObject({ labels: ["new"], causedBy: { action: action.id, depth: 1 } });
  });

  it("runs member.labeled and member.unlabeled actions for labels given and taken in the member's edit form", async () => {
    const ws = await newWorkspace();
    const onVip = await createAction(ws, {
      trigger: "member.labeled",
      condition: `"vip" in event.data.labels`,
      action: { type: "label", add: ["welcomed"] },
    });
    const onDrop = await createAction(ws, {
      trigger: "member.unlabeled",
      action: { type: "label", add: ["was-trial"] },
    });
    const member = await addMember(ws, { email: "ann@example.test", labels: ["trial"] });
    const edited = await call("PATCH", `/v1/members/${member.id}`, { key: ws.key, body: { labels: ["vip"] } });
    expect(edited.status).toBe(200);
    await eventually("both actions", async () => {
      const labels = (await call("GET", `/v1/members/${member.id}`, { key: ws.key })).body.labels;
      return labels.includes("welcomed") && labels.includes("was-trial");
    });
    expect(await deliveries(ws, onVip.id)).toMatchObject([{ status: "succeeded" }]);
    expect(await deliveries(ws, onDrop.id)).toMatchObject([{ status: "succeeded" }]);
  });

  it("sends an email to the member through the outbox", async () => {
    const ws = await newWorkspace();
    const action = await createWelcomeEmail(ws);
    await addMember(ws, { email: "ann@example.test" });
    await eventually("the email", async () => {
      const res = await call("GET", "/v1/outbox?to=ann@example.test", { key: ws.key });
      return res.body.data.some((m: { text: string }) => m.text === "Welcome aboard");
    });
    const runs = await deliveries(ws, action.id);
    expect(runs).toMatchObject([{ status: "succeeded" }]);
  });

  it("records a failed SMS for a member without a phone", async () => {
    const ws = await newWorkspace();
    const action = await createAction(ws, { trigger: "member.created", action: { type: "sms", text: "Hi" } });
    await addMember(ws, { email: "ann@example.test" });
    await eventually("the run", async () => (await deliveries(ws, action.id)).length === 1);
    const [run] = await deliveries(ws, action.id);
    expect(run.status).toBe("failed");
    expect(run.attempts[0].error).toContain("phone");
  });
});

describe("loop protection", () => {
  it("an action's own label change does not trigger it again", async () => {
    const ws = await newWorkspace();
    const action = await createAction(ws, { trigger: "member.labeled", action: { type: "label", add: ["seen"] } });
    const member = await addMember(ws, { email: "ann@example.test" });
    await call("POST", `/v1/members/${member.id}/labels`, { key: ws.key, body: { labels: ["vip"] } });
    await eventually("the run", async () => (await deliveries(ws, action.id)).length === 1);
    await settled(async () => (await eventsOf(ws.id)).length);
    expect(await deliveries(ws, action.id)).toHaveLength(1);
  });

  it("two actions undoing each other stop after a few links", async () => {
    const ws = await newWorkspace();
    const { remover, adder } = await settledUndoingLoop(ws);
    const log = await eventsOf(ws.id);
    const chained = log.filter((e) => (e.data as { causedBy?: unknown }).causedBy);
    expect(chained.length).toBe(3);
    expect((await deliveries(ws, remover.id)).length).toBe(2);
    expect((await deliveries(ws, adder.id)).length).toBe(1);
  });
});

describe("webhook delivery", () => {
  it("retries after a receiver's 500, with the same webhook-id, and logs both attempts", async () => {
    const { url: hook, received } = mockReceiver((_, n) => (n === 1 ? 500 : 200));
    const ws = await newWorkspace();
    const action = await createAction(ws, { trigger: "member.created", action: { type: "webhook", url: hook } });
    await addMember(ws, { email: "ann@example.test" });
    await eventually("the retry's success", async () => (await deliveries(ws, action.id))[0]?.status === "succeeded");
    const [run] = await deliveries(ws, action.id);
    expect(run.attempts.map((a: { status: number }) => a.status)).toEqual([500, 200]);
    expect(received.map((r) => r.headers["webhook-id"])).toEqual([run.id, run.id]);
    for (const req of received) expect(() => new Webhook(action.secret).verify(req.body, req.headers)).not.toThrow();
  });

  it("marks a delivery dead after the last attempt and stops", async () => {
    const { url: hook, received } = mockReceiver(() => 500);
    const ws = await newWorkspace();
    const action = await createAction(ws, { trigger: "member.created", action: { type: "webhook", url: hook } });
    await addMember(ws, { email: "ann@example.test" });
    await eventually("the dead letter", async () => (await deliveries(ws, action.id))[0]?.status === "dead");
    await settled(async () => received.length);
    expect(received).toHaveLength(MAX_ATTEMPTS);
    const [run] = await deliveries(ws, action.id);
    expect(run.attempts).toHaveLength(MAX_ATTEMPTS);
    expect(run.attempts.every((a: { status: number }) => a.status === 500)).toBe(true);
  });

  it("backs off exponentially between attempts", async () => {
    expect([1, 2, 3, 4].map((n) => backoffSeconds(n, 30))).toEqual([30, 60, 120, 240]);
    expect(backoffSeconds(20, 30)).toBe(3600);

    const { url: hook } = mockReceiver(() => 503);
    const ws = await newWorkspace();
    const action = await createAction(ws, { trigger: "member.created", action: { type: "webhook", url: hook } });
    // A delivery recorded by hand, not queued, so this test alone attempts it.
    const [created] = (await eventsOf(ws.id)).filter((e) => e.type === "action.created");
    const runId = `msg_test${crypto.randomUUID().replaceAll("-", "")}`;
    await (await shardDb(ws.id))
      .prepare(
        `insert into action_runs (id, workspace_id, action_id, seq, event_type, status, attempts, created_at, updated_at)
       values (?, ?, ?, ?, 'action.created', 'pending', '[]', datetime(), datetime())`,
      )
      .bind(runId, ws.id, action.id, created?.seq)
      .run();
    const delays: number[] = [];
    for (let attempt = 1; attempt <= 3; attempt++) {
      // As if the backoff had passed: a message earlier than its run's next attempt is a copy, and dropped.
      await (await shardDb(ws.id)).prepare("update action_runs set due_at = null where id = ?").bind(runId).run();
      const batch = createMessageBatch("webhooks", [
        { id: crypto.randomUUID(), timestamp: new Date(), attempts: attempt, body: { runId, workspaceId: ws.id } },
      ]);
      const [message] = batch.messages;
      if (!message) throw new Error("no message");
      // The pool's getQueueResult drops retry options: read them from the call.
      const retry = vi.spyOn(message, "retry");
      await consumeWebhooks(batch, { ...env, WEBHOOK_RETRY_BASE_SECONDS: "10" });
      const result = await getQueueResult(batch, createExecutionContext());
      expect(result.retryMessages).toHaveLength(1);
      delays.push(...retry.mock.calls.map(([options]) => options?.delaySeconds ?? -1));
    }
    expect(delays).toEqual([10, 20, 40]);
  });
});
