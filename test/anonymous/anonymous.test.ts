import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../worker/index";
import { shardDb } from "../db";
import { addMember, addRole, call, keyForRole, newWorkspace, type Workspace } from "../helpers";
import { openLive, waitFor } from "../live/sockets";
import { configureSms, eventTypesAfter, newNumber, postInbound, sid, smsParams, storedRows } from "../provider/twilio";

// biome-ignore lint/suspicious/noExplicitAny: tests read JSON bodies freely
type Json = any;

async function smsWorkspace(settings: Record<string, unknown> = {}) {
  const ws = await newWorkspace();
  await configureSms(ws, settings);
  return ws;
}

/** Texts the workspace from `from` and expects Twilio's 200. */
async function text(ws: Workspace, from: string, body: string) {
  const res = await postInbound(ws.id, "sms", smsParams(from, body));
  if (res.status !== 200) throw new Error(`inbound sms failed: ${res.status} ${res.text}`);
}

const anonymousList = async (ws: Workspace): Promise<Json[]> =>
  (await call("GET", "/v1/members?status=anonymous", { key: ws.key })).body.data;

const bodies = async (ws: Workspace, memberId: string): Promise<string[]> => {
  const res = await call("GET", `/v1/members/${memberId}/messages?limit=100`, { key: ws.key });
  if (res.status !== 200) throw new Error(`history failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.data.map((m: Json) => m.body);
};

const resolve = (ws: Workspace, id: string, targetId: string) =>
  call("POST", `/v1/members/${id}/resolve`, { key: ws.key, body: { targetId } });

/** A workspace where one unknown number has texted `messages`; returns its anonymous member. */
async function withAnonymous(messages: string[]) {
  const ws = await smsWorkspace();
  const phone = newNumber();
  for (const body of messages) await text(ws, phone, body);
  const [anonymous] = await anonymousList(ws);
  return { ws, phone, anonymous };
}

describe("anonymous members", () => {
  it("creates one anonymous member for an unknown number, named after it, with a pending resolution record", async () => {
    const ws = await smsWorkspace();
    await text(ws, "+1 (415) 867-5309", "hi, who is this?");
    const list = await anonymousList(ws);
    expect(list).toEqual([
      expect.objectContaining({ status: "anonymous", phone: "+14158675309", name: "+1 415 867 5309", email: null }),
    ]);
    const resolution = await call("GET", `/v1/members/${list[0].id}/resolution`, { key: ws.key });
    expect(resolution.body).toMatchObject({
      identifier: "+14158675309",
      status: "pending",
      resolvedInto: null,
      resolvedBy: null,
      resolvedAt: null,
    });
    // Anonymous members are not in the default (active) list.
    const active = (await call("GET", "/v1/members", { key: ws.key })).body.data;
    expect(active.map((m: Json) => m.id)).not.toContain(list[0].id);
  });

  it("creates exactly one member when 100 messages from a new number arrive at once, and keeps all 100", async () => {
    const ws = await smsWorkspace();
    const phone = newNumber();
    const sent = Array.from({ length: 100 }, (_, i) => `message ${i}`);
    const results = await Promise.all(sent.map((body) => postInbound(ws.id, "sms", smsParams(phone, body))));
    expect(results.every((r) => r.status === 200)).toBe(true);
    const list = await anonymousList(ws);
    expect(list).toHaveLength(1);
    expect((await bodies(ws, list[0].id)).sort()).toEqual([...sent].sort());
    const rows = await storedRows(ws.id);
    expect(rows.anonymous_resolutions).toHaveLength(1);
    expect(rows.member_identities).toHaveLength(1);
    const types = await eventTypesAfter(ws.id, 1);
    expect(types.filter((t) => t === "member.created")).toHaveLength(1);
    expect(types.filter((t) => t === "message.received")).toHaveLength(100);
  });

  it("lists the history oldest first in stable pages", async () => {
    const { ws, anonymous } = await withAnonymous(["one", "two", "three"]);
    const first = await call("GET", `/v1/members/${anonymous.id}/messages?limit=2`, { key: ws.key });
    expect(first.body.data.map((m: Json) => m.body)).toEqual(["one", "two"]);
    const second = await call("GET", `/v1/members/${anonymous.id}/messages?limit=2&cursor=${first.body.nextCursor}`, {
      key: ws.key,
    });
    expect(second.body).toMatchObject({ data: [expect.objectContaining({ body: "three" })], nextCursor: null });
    expect(Object.keys(first.body.data[0])).toEqual(
      expect.arrayContaining(["id", "channel", "direction", "body", "providerId", "at"]),
    );
  });

  it("needs members:admin for the Anonymous list, its members and their histories", async () => {
    const { ws, anonymous } = await withAnonymous(["hello"]);
    await addRole(ws, "desk", ["members:write"]);
    const { key } = await keyForRole(ws, "desk");
    expect((await call("GET", "/v1/members?status=anonymous", { key })).status).toBe(403);
    expect((await call("GET", "/v1/members?status=merged", { key })).status).toBe(403);
    expect((await call("GET", `/v1/members/${anonymous.id}/messages`, { key })).status).toBe(403);
    expect((await call("GET", `/v1/members/${anonymous.id}`, { key })).status).toBe(403);
    // Nor may a write reach it (an empty PATCH would answer with the member).
    const before = await storedRows(ws.id);
    expect((await call("PATCH", `/v1/members/${anonymous.id}`, { key, body: {} })).status).toBe(403);
    expect((await call("PATCH", `/v1/members/${anonymous.id}`, { key, body: { name: "Known" } })).status).toBe(403);
    expect((await call("POST", `/v1/members/${anonymous.id}/labels`, { key, body: { labels: ["x"] } })).status).toBe(
      403,
    );
    expect((await call("POST", `/v1/members/${anonymous.id}/archive`, { key })).status).toBe(403);
    expect(await storedRows(ws.id)).toEqual(before);
    expect((await call("GET", "/v1/members", { key })).status).toBe(200);
    expect((await resolve({ ...ws, key }, anonymous.id, ws.ownerId)).status).toBe(403);
    expect((await call("GET", "/v1/members?status=anonymous", { key: ws.key })).status).toBe(200);
  });

  it("answers 404 for another workspace's members on every anonymous route, writing nothing", async () => {
    const a = await withAnonymous(["in A"]);
    const b = await withAnonymous(["in B"]);
    const [aTarget, bTarget] = await Promise.all(
      [a.ws, b.ws].map((ws) => addMember(ws, { name: "Target", email: "target@example.test" })),
    );
    const before = await Promise.all([storedRows(a.ws.id), storedRows(b.ws.id)]);
    const key = a.ws.key;
    const foreign = b.anonymous.id;
    const refusals = [
      await call("POST", `/v1/members/${a.anonymous.id}/resolve`, { key, body: { targetId: bTarget.id } }),
      await call("POST", `/v1/members/${foreign}/resolve`, { key, body: { targetId: aTarget.id } }),
      await call("GET", `/v1/members/${a.anonymous.id}/resolve-preview?targetId=${bTarget.id}`, { key }),
      await call("GET", `/v1/members/${foreign}/resolve-preview?targetId=${aTarget.id}`, { key }),
      await call("POST", `/v1/members/${foreign}/resolve/undo`, { key }),
      await call("POST", `/v1/members/${foreign}/expire`, { key }),
      await call("GET", `/v1/members/${foreign}/messages`, { key }),
      await call("GET", `/v1/members/${foreign}/resolution`, { key }),
    ];
    for (const res of refusals) expect([res.status, res.body.error.code]).toEqual([404, "not_found"]);
    expect(await Promise.all([storedRows(a.ws.id), storedRows(b.ws.id)])).toEqual(before);
  });
});

describe("resolving an anonymous member", () => {
  it("moves the whole history to the target in one change, and later messages go to the target", async () => {
    const { ws, phone, anonymous } = await withAnonymous(["first", "second"]);
    const ada = await addMember(ws, { name: "Ada Lovelace", email: "ada@x.test" });
    await text(ws, newNumber(), "someone else"); // another anonymous member, untouched
    const preview = await call("GET", `/v1/members/${anonymous.id}/resolve-preview?targetId=${ada.id}`, {
      key: ws.key,
    });
    expect(preview.status).toBe(200);
    expect(preview.body).toMatchObject({
      source: { id: anonymous.id },
      target: { id: ada.id },
      identifier: phone,
      messages: { count: 2 },
      targetMessagesAfter: 2,
    });

    const res = await resolve(ws, anonymous.id, ada.id);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ member: { id: ada.id, name: "Ada Lovelace", status: "active" }, moved: 2 });
    expect(await bodies(ws, ada.id)).toEqual(["first", "second"]);
    expect(await bodies(ws, anonymous.id)).toEqual([]);
    const merged = (await call("GET", `/v1/members/${anonymous.id}`, { key: ws.key })).body;
    expect(merged.status).toBe("merged");
    const resolution = (await call("GET", `/v1/members/${anonymous.id}/resolution`, { key: ws.key })).body;
    expect(resolution).toMatchObject({ status: "resolved", resolvedInto: ada.id, resolvedBy: ws.ownerId });
    expect(resolution.resolvedAt).toEqual(expect.any(String));
    expect((await anonymousList(ws)).map((m) => m.id)).not.toContain(anonymous.id);

    await text(ws, phone, "after the merge");
    expect(await bodies(ws, ada.id)).toEqual(["first", "second", "after the merge"]);
    expect(await bodies(ws, anonymous.id)).toEqual([]);
    expect(await eventTypesAfter(ws.id)).toContain("member.merged");
  });

  it("never leaves a message on the merged record when messages race the merge", async () => {
    const { ws, phone, anonymous } = await withAnonymous(["before"]);
    const ada = await addMember(ws, { name: "Ada", email: "ada@x.test" });
    const racing = Array.from({ length: 40 }, (_, i) => `racing ${i}`);
    const [merge] = await Promise.all([
      resolve(ws, anonymous.id, ada.id),
      ...racing.map((body) => postInbound(ws.id, "sms", smsParams(phone, body))),
    ]);
    expect(merge.status).toBe(200);
    expect(await bodies(ws, anonymous.id)).toEqual([]);
    expect((await bodies(ws, ada.id)).sort()).toEqual(["before", ...racing].sort());
    const rows = await storedRows(ws.id);
    expect(rows.members.filter((m: Json) => m.status === "anonymous")).toEqual([]);
  });

  it("undoes a merge: the anonymous member comes back with exactly the messages it had", async () => {
    const { ws, phone, anonymous } = await withAnonymous(["a1", "a2"]);
    const adaPhone = newNumber();
    const ada = await addMember(ws, { name: "Ada", phone: adaPhone });
    await text(ws, adaPhone, "ada's own");
    await resolve(ws, anonymous.id, ada.id);
    await text(ws, phone, "to ada after the merge");
    expect(await bodies(ws, ada.id)).toEqual(["a1", "a2", "ada's own", "to ada after the merge"]);

    const undo = await call("POST", `/v1/members/${anonymous.id}/resolve/undo`, { key: ws.key });
    expect(undo.status).toBe(200);
    expect(undo.body).toMatchObject({ member: { id: anonymous.id, status: "anonymous" }, restored: 2 });
    expect(await bodies(ws, anonymous.id)).toEqual(["a1", "a2"]);
    expect(await bodies(ws, ada.id)).toEqual(["ada's own", "to ada after the merge"]);
    const resolution = (await call("GET", `/v1/members/${anonymous.id}/resolution`, { key: ws.key })).body;
    expect(resolution).toMatchObject({ status: "pending", resolvedInto: null });
    // The number leads to the anonymous member again; a second undo has nothing to undo.
    await text(ws, phone, "back again");
    expect(await bodies(ws, anonymous.id)).toEqual(["a1", "a2", "back again"]);
    const again = await call("POST", `/v1/members/${anonymous.id}/resolve/undo`, { key: ws.key });
    expect(again.status).toBe(409);
    expect((await eventTypesAfter(ws.id)).filter((t) => t.startsWith("member.") && t.includes("merged"))).toEqual([
      "member.merged",
      "member.unmerged",
    ]);
  });

  it("refuses with 409 to resolve a non-anonymous member, into itself, or into an archived, anonymous, merged or expired member", async () => {
    const ws = await smsWorkspace();
    const [p1, p2, p3, p4] = [newNumber(), newNumber(), newNumber(), newNumber()];
    for (const p of [p1, p2, p3, p4]) await text(ws, p, "hi");
    const anon = Object.fromEntries((await anonymousList(ws)).map((m: Json) => [m.phone, m.id]));
    const ada = await addMember(ws, { name: "Ada", email: "ada@x.test" });
    const archived = await addMember(ws, { name: "Gone", email: "gone@x.test" });
    await call("POST", `/v1/members/${archived.id}/archive`, { key: ws.key });
    await resolve(ws, anon[p3], ada.id); // p3 is now merged
    await call("POST", `/v1/members/${anon[p4]}/expire`, { key: ws.key }); // p4 is now expired
    const before = await storedRows(ws.id);

    const cases: [string, string, string][] = [
      [ada.id, ws.ownerId, "not_anonymous"],
      [anon[p1], anon[p1], "same_member"],
      [anon[p1], archived.id, "invalid_target"],
      [anon[p1], anon[p2], "invalid_target"],
      [anon[p1], anon[p3], "invalid_target"],
      [anon[p1], anon[p4], "invalid_target"],
      [anon[p3], ws.ownerId, "not_anonymous"],
    ];
    for (const [source, target, code] of cases) {
      const res = await resolve(ws, source, target);
      expect({ source, target, status: res.status, code: res.body.error.code }).toEqual({
        source,
        target,
        status: 409,
        code,
      });
      const preview = await call("GET", `/v1/members/${source}/resolve-preview?targetId=${target}`, { key: ws.key });
      expect(preview.status).toBe(409);
    }
    expect((await resolve(ws, anon[p1], "mem_NOPE")).status).toBe(404);
    expect((await resolve(ws, "mem_NOPE", ada.id)).status).toBe(404);
    expect(await storedRows(ws.id)).toEqual(before);
  });
});

describe("expiring an anonymous member", () => {
  it("archives it without merging, recording who and when", async () => {
    const { ws, anonymous } = await withAnonymous(["hello?"]);
    const res = await call("POST", `/v1/members/${anonymous.id}/expire`, { key: ws.key });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: anonymous.id, status: "expired" });
    expect(await bodies(ws, anonymous.id)).toEqual(["hello?"]);
    const resolution = (await call("GET", `/v1/members/${anonymous.id}/resolution`, { key: ws.key })).body;
    expect(resolution).toMatchObject({ status: "expired", resolvedBy: ws.ownerId, resolvedInto: null });
    expect(await anonymousList(ws)).toEqual([]);
    const expired = (await call("GET", "/v1/members?status=expired", { key: ws.key })).body.data;
    expect(expired.map((m: Json) => m.id)).toEqual([anonymous.id]);
    expect((await eventTypesAfter(ws.id)).at(-1)).toBe("member.expired");
    // Twice, or a member who is not anonymous: 409.
    expect((await call("POST", `/v1/members/${anonymous.id}/expire`, { key: ws.key })).status).toBe(409);
    expect((await call("POST", `/v1/members/${ws.ownerId}/expire`, { key: ws.key })).status).toBe(409);
  });

  it("makes an expired member pending again when the number writes again", async () => {
    const { ws, phone, anonymous } = await withAnonymous(["first"]);
    await call("POST", `/v1/members/${anonymous.id}/expire`, { key: ws.key });
    await text(ws, phone, "me again");
    expect((await anonymousList(ws)).map((m) => m.id)).toEqual([anonymous.id]);
    expect(await bodies(ws, anonymous.id)).toEqual(["first", "me again"]);
    const resolution = (await call("GET", `/v1/members/${anonymous.id}/resolution`, { key: ws.key })).body;
    expect(resolution.status).toBe("pending");
  });

  it("expires pending anonymous members quiet for the workspace's number of days, on the Cron Trigger", async () => {
    const ws = await smsWorkspace({ anonymousExpiryDays: 7 });
    const untouched = await smsWorkspace(); // no expiry setting
    const [quiet, recent, fresh, other] = [newNumber(), newNumber(), newNumber(), newNumber()];
    for (const p of [quiet, recent, fresh]) await text(ws, p, "hi");
    await text(untouched, other, "hi");
    const ago = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString();
    // Age the records as if 8 (and 30) days had passed since these numbers wrote.
    for (const [workspaceId, phone, days] of [
      [ws.id, quiet, 8],
      [ws.id, recent, 8],
      [untouched.id, other, 30],
    ] as const) {
      const db = await shardDb(workspaceId);
      await db.batch([
        db
          .prepare("update messages set at = ? where workspace_id = ? and from_number = ?")
          .bind(ago(days), workspaceId, phone),
        db
          .prepare("update anonymous_resolutions set created_at = ? where workspace_id = ? and identifier = ?")
          .bind(ago(days), workspaceId, phone),
      ]);
    }
    await text(ws, recent, "still here"); // quiet for 8 days, then wrote again

    const watcher = await openLive({ key: ws.key });

    // The Worker's scheduled handler, as the Cron Trigger in wrangler.toml runs it.
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: "17 * * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
    // The job pokes the workspace: the event arrives well before the 5 s sweep would find it.
    await waitFor(
      "member.expired live",
      () => watcher.messages.some((m) => "seq" in m && m.type === "member.expired"),
      2_000,
    );

    const statusOf = async (w: Workspace, phone: string) =>
      (
        await (
          await shardDb(w.id)
        )
          .prepare("select status from members where workspace_id = ? and phone = ?")
          .bind(w.id, phone)
          .first<{
            status: string;
          }>()
      )?.status;
    expect(await statusOf(ws, quiet)).toBe("expired");
    expect(await statusOf(ws, recent)).toBe("anonymous");
    expect(await statusOf(ws, fresh)).toBe("anonymous");
    expect(await statusOf(untouched, other)).toBe("anonymous");
    const [expired] = (await call("GET", "/v1/members?status=expired", { key: ws.key })).body.data;
    const resolution = (await call("GET", `/v1/members/${expired.id}/resolution`, { key: ws.key })).body;
    expect(resolution).toMatchObject({ status: "expired", resolvedBy: "system" });
  });
});

describe("live events", () => {
  it("delivers every one of 40 messages arriving at once live, in order, though their pokes are coalesced", async () => {
    const ws = await smsWorkspace();
    const socket = await openLive({ key: ws.key });
    const known = await addMember(ws, { name: "Known", phone: newNumber() });
    const fresh = newNumber();
    await Promise.all(Array.from({ length: 40 }, (_, i) => text(ws, i % 2 === 0 ? known.phone : fresh, `burst ${i}`)));
    const received = () => socket.messages.filter((m: Json) => m.type === "message.received");
    // Well under the 5 s sweep: the pokes, not the alarm, bring them.
    await waitFor("all 40 messages", () => received().length === 40, 2_000);
    const seqs = socket.seqs();
    expect(seqs).toEqual(seqs.map((_, i) => (seqs[0] ?? 0) + i));
    expect(new Set(received().map((m: Json) => m.data.message.body)).size).toBe(40);
    socket.ws.close();
  });

  it("shows message.received and member.merged on an admin's socket", async () => {
    const ws = await smsWorkspace();
    const socket = await openLive({ key: ws.key });
    const phone = newNumber();
    await text(ws, phone, "live hello");
    const ada = await addMember(ws, { name: "Ada", email: "ada@x.test" });
    const [anonymous] = await anonymousList(ws);
    await resolve(ws, anonymous.id, ada.id);
    const events = () => socket.messages.flatMap((m: Json) => ("seq" in m ? [m] : []));
    await waitFor("the merge event", () => events().some((e) => e.type === "member.merged"), 2_000);
    const types = events().map((e) => e.type);
    // The anonymous member, its message, Ada, the merge.
    expect(types).toEqual(["member.created", "message.received", "member.created", "member.merged"]);
    const received = events().find((e) => e.type === "message.received");
    expect(received.data).toMatchObject({
      message: { channel: "sms", body: "live hello", from: phone, memberId: anonymous.id },
      member: { id: anonymous.id, status: "anonymous" },
    });
    const merged = events().find((e) => e.type === "member.merged");
    expect(merged.data).toMatchObject({
      member: { id: anonymous.id, status: "merged" },
      into: { id: ada.id },
      moved: 1,
    });
    socket.ws.close();
  });

  it("announces a call's status callbacks with message.updated", async () => {
    const ws = await smsWorkspace();
    const socket = await openLive({ key: ws.key });
    const callSid = sid("CA");
    const from = newNumber();
    await postInbound(ws.id, "voice", { CallSid: callSid, From: from, CallStatus: "ringing" });
    await postInbound(ws.id, "voice", {
      CallSid: callSid,
      From: from,
      CallStatus: "completed",
      CallDuration: "7",
    });
    await waitFor("the update", () => socket.messages.some((m: Json) => m.type === "message.updated"), 2_000);
    const updated = socket.messages.find((m: Json) => m.type === "message.updated") as Json;
    expect(updated.data.message).toMatchObject({ providerId: callSid, callStatus: "completed", callDuration: 7 });
    socket.ws.close();
  });

  it("expires every quiet member however many, in several batches, one member.expired each", async () => {
    const ws = await smsWorkspace({ anonymousExpiryDays: 7 });
    // More than a few batches (BULK_BATCH in vitest.config.ts), and one who wrote lately among them.
    const phones = Array.from({ length: 12 }, () => newNumber());
    for (const phone of phones) await text(ws, phone, "hi");
    const ago = new Date(Date.now() - 8 * 86_400_000).toISOString();
    const db = await shardDb(ws.id);
    await db.batch([
      db.prepare("update messages set at = ? where workspace_id = ?").bind(ago, ws.id),
      db.prepare("update anonymous_resolutions set created_at = ? where workspace_id = ?").bind(ago, ws.id),
    ]);
    await text(ws, phones[5] as string, "still here");

    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: "17 * * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);

    const statuses = await db
      .prepare("select phone, status from members where workspace_id = ? and phone is not null")
      .bind(ws.id)
      .all<{ phone: string; status: string }>();
    const byPhone = new Map(statuses.results.map((r) => [r.phone, r.status]));
    expect(phones.map((p) => byPhone.get(p))).toEqual(phones.map((_, i) => (i === 5 ? "anonymous" : "expired")));
    const log = await db
      .prepare("select seq, type, data from events where workspace_id = ? order by seq")
      .bind(ws.id)
      .all<{ seq: number; type: string; data: string }>();
    const expired = log.results.filter((e) => e.type === "member.expired");
    const ids = expired.map((e) => (JSON.parse(e.data) as { member: { id: string } }).member.id);
    expect(new Set(ids).size).toBe(11);
    expect(ids).toHaveLength(11);
    expect(log.results.map((e) => e.seq)).toEqual(log.results.map((_, i) => i + 1));
  });
});
