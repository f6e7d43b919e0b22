import { describe, expect, it } from "vitest";
import { shardDb, snapshot } from "../db";
import { addMember, call, newIp, newWorkspace, uniqueSuffix, type Workspace } from "../helpers";
import { latestToken } from "../links";
import { inOneRateLimitWindow } from "../wait";

const submit = (ws: Workspace, body: Record<string, unknown>, ip = newIp()) =>
  call("POST", `/public/${ws.slug}/join-requests`, { body, headers: { "CF-Connecting-IP": ip } });

describe("join requests", () => {
  it("goes from request to approval to acceptance", async () => {
    const ws = await newWorkspace({ allowJoinRequests: true });
    const sent = await submit(ws, { name: "Jo Joiner", email: "Jo@Example.test", message: "Hi!" });
    expect(sent.status).toBe(202);

    const pending = await call("GET", "/v1/join-requests?status=pending", { key: ws.key });
    expect(pending.body.data).toEqual([
      expect.objectContaining({ name: "Jo Joiner", email: "jo@example.test", message: "Hi!", status: "pending" }),
    ]);
    const id = pending.body.data[0].id;

    const approved = await call("POST", `/v1/join-requests/${id}/approve`, { key: ws.key, body: { role: "user" } });
    expect(approved.status).toBe(200);
    expect(approved.body.joinRequest).toMatchObject({ status: "approved", invitationId: approved.body.invitation.id });
    expect(approved.body.invitation).toMatchObject({ email: "jo@example.test", role: "user", status: "pending" });

    const again = await call("POST", `/v1/join-requests/${id}/approve`, { key: ws.key });
    expect(again.status).toBe(409);
    expect((await call("POST", `/v1/join-requests/${id}/deny`, { key: ws.key })).status).toBe(409);

    const accepted = await call("POST", "/v1/invitations/accept", {
      body: { token: await latestToken(ws, "jo@example.test") },
    });
    expect(accepted.status).toBe(200);
    expect(accepted.body.member).toMatchObject({ name: "Jo Joiner", email: "jo@example.test", status: "active" });

    const { results } = await (await shardDb(ws.id))
      .prepare("select type from events where workspace_id = ? and seq > 2 order by seq")
      .bind(ws.id)
      .all<{ type: string }>();
    expect(results.map((r) => r.type)).toEqual([
      "join_request.created",
      "join_request.approved",
      "member.created",
      "invitation.created",
      "invitation.accepted",
      "session.created",
    ]);
  });

  it("approves two racing approvals at most once", async () => {
    const ws = await newWorkspace({ allowJoinRequests: true });
    await submit(ws, { name: "Racer", email: "racer@example.test" });
    const id = (await call("GET", "/v1/join-requests", { key: ws.key })).body.data[0].id;
    const results = await Promise.all([
      call("POST", `/v1/join-requests/${id}/approve`, { key: ws.key }),
      call("POST", `/v1/join-requests/${id}/approve`, { key: ws.key }),
      call("POST", `/v1/join-requests/${id}/deny`, { key: ws.key }),
    ]);
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 409)).toHaveLength(2);
    const invitations = await call("GET", "/v1/invitations", { key: ws.key });
    expect(invitations.body.data.length).toBeLessThanOrEqual(1);
  });

  it("denies a request", async () => {
    const ws = await newWorkspace({ allowJoinRequests: true });
    await submit(ws, { name: "Nope", email: "nope@example.test" });
    const id = (await call("GET", "/v1/join-requests", { key: ws.key })).body.data[0].id;
    const denied = await call("POST", `/v1/join-requests/${id}/deny`, { key: ws.key });
    expect(denied.status).toBe(200);
    expect(denied.body.status).toBe("denied");
    expect((await call("GET", "/v1/join-requests?status=denied", { key: ws.key })).body.data).toHaveLength(1);
    expect((await call("GET", "/v1/join-requests?status=pending", { key: ws.key })).body.data).toHaveLength(0);
  });

  it("answers the same for known and unknown emails (no enumeration)", async () => {
    const ws = await newWorkspace({ allowJoinRequests: true });
    await addMember(ws, { email: "member@example.test" });
    const known = await submit(ws, { name: "Known", email: "member@example.test" });
    const unknown = await submit(ws, { name: "Unknown", email: `new-${uniqueSuffix()}@example.test` });
    expect(known.status).toBe(202);
    expect(unknown.status).toBe(202);
    expect(known.body).toEqual(unknown.body);
    expect([...known.headers.keys()].sort()).toEqual([...unknown.headers.keys()].sort());
  });

  it("keeps one pending request per email: another submission of that email changes nothing, and gets the same answer", async () => {
    const ws = await newWorkspace({ allowJoinRequests: true });
    const first = await submit(ws, {
      name: "First",
      email: "same@example.test",
      phone: "+14155550123",
      message: "one",
    });
    const before = await snapshot(ws.id);
    const second = await submit(ws, { name: "Impostor", email: "SAME@example.test", message: "Approve me as admin" });
    expect(second.status).toBe(first.status);
    expect(second.body).toEqual(first.body);
    expect(await snapshot(ws.id)).toEqual(before);
    const list = await call("GET", "/v1/join-requests", { key: ws.key });
    expect(list.body.data).toEqual([
      expect.objectContaining({ name: "First", phone: "+14155550123", message: "one", status: "pending" }),
    ]);
  });

  it("takes a new request from an email once its earlier one was decided", async () => {
    const ws = await newWorkspace({ allowJoinRequests: true });
    await submit(ws, { name: "Early", email: "again@example.test" });
    const [early] = (await call("GET", "/v1/join-requests", { key: ws.key })).body.data;
    expect((await call("POST", `/v1/join-requests/${early.id}/deny`, { key: ws.key })).status).toBe(200);
    await submit(ws, { name: "Later", email: "again@example.test" });
    const pending = await call("GET", "/v1/join-requests?status=pending", { key: ws.key });
    expect(pending.body.data).toEqual([expect.objectContaining({ name: "Later", status: "pending" })]);
  });

  it("answers an unknown workspace and one that takes no join requests with the same 404, headers included", async () => {
    const closed = await newWorkspace();
    const body = { name: "X", email: "x@example.test" };
    const answers = [
      await submit(closed, body),
      await call("POST", `/public/no-such-ws-${uniqueSuffix()}/join-requests`, { body }),
    ];
    const headers = (res: { headers: Headers }) => [...res.headers].filter(([name]) => name !== "date");
    for (const res of answers) {
      expect(res.status).toBe(404);
      expect(res.body).toEqual(answers[0]?.body);
      expect(headers(res)).toEqual(headers(answers[0] as { headers: Headers }));
    }
  });

  it("answers 429 when one client floods", async () => {
    const ws = await newWorkspace({ allowJoinRequests: true });
    const ip = newIp();
    await inOneRateLimitWindow(10_000);
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      statuses.push((await submit(ws, { name: "Flood", email: `flood${i}@example.test` }, ip)).status);
    }
    expect(statuses.slice(0, 10).every((s) => s === 202)).toBe(true);
    expect(statuses.at(-1)).toBe(429);
    const limited = await submit(ws, { name: "Flood", email: "more@example.test" }, ip);
    expect(limited.body.error.code).toBe("rate_limited");
    // Another client still gets through.
    expect((await submit(ws, { name: "Calm", email: "calm@example.test" })).status).toBe(202);
  });

  it("counts a client's submissions to unknown workspaces against its limit, so probing for slugs is limited too", async () => {
    const open = await newWorkspace({ allowJoinRequests: true });
    const ip = newIp();
    await inOneRateLimitWindow(10_000);
    for (let i = 0; i < 10; i++) {
      const probe = await call("POST", `/public/probe-${uniqueSuffix()}/join-requests`, {
        body: { name: "Probe", email: "probe@example.test" },
        headers: { "CF-Connecting-IP": ip },
      });
      expect(probe.status).toBe(404);
    }
    const limited = await submit(open, { name: "Probe", email: "probe@example.test" }, ip);
    expect(limited.status).toBe(429);
    expect(limited.headers.get("Retry-After")).toBe("60");
  });

  it("answers 429 when a workspace is flooded from many addresses", async () => {
    const ws = await newWorkspace({ allowJoinRequests: true });
    await inOneRateLimitWindow(20_000);
    const statuses: number[] = [];
    for (let i = 0; i < 101; i++) {
      statuses.push((await submit(ws, { name: "Crowd", email: `crowd${i}@example.test` })).status);
    }
    expect(statuses.filter((s) => s === 202)).toHaveLength(100);
    expect(statuses.at(-1)).toBe(429);
  }, 60_000);

  it("answers 422 naming invalid fields", async () => {
    const ws = await newWorkspace({ allowJoinRequests: true });
    const res = await submit(ws, { name: "", email: "not-an-email" });
    expect(res.status).toBe(422);
    expect(res.body.error.issues.map((i: { path: string }) => i.path).sort()).toEqual(["email", "name"]);
  });

  const role = JSON.stringify({ role: "manager" });
  it.each([
    ["sent as text/plain", 415, { rawBody: role, headers: { "Content-Type": "text/plain" } }],
    ["sent as a form", 415, { rawBody: role, headers: { "Content-Type": "application/x-www-form-urlencoded" } }],
    ["sent without a content type", 415, { rawBody: role }],
    ["that is a JSON array", 422, { body: [] }],
  ])("refuses an approve body %s (%i), changing nothing", async (_, status, request) => {
    const ws = await newWorkspace({ allowJoinRequests: true });
    await submit(ws, { name: "Jo", email: "jo@example.test" });
    const [pending] = (await call("GET", "/v1/join-requests", { key: ws.key })).body.data;
    const before = await snapshot(ws.id);
    const res = await call("POST", `/v1/join-requests/${pending.id}/approve`, { key: ws.key, ...request });
    expect(res.status).toBe(status);
    expect(await snapshot(ws.id)).toEqual(before);
  });
});
