import { afterEach, describe, expect, it, vi } from "vitest";
import { shardDb } from "../db";
import { addMember, call, newWorkspace, type Workspace } from "../helpers";
import { asBrowser, latestToken, sessionCookie } from "../links";

const DAY = 86_400_000;

async function invite(ws: Workspace, body: Record<string, unknown>) {
  const res = await call("POST", "/v1/invitations", { key: ws.key, body });
  if (res.status !== 201) throw new Error(`invite failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** Invites `email` and reads the link's token from the outbox. */
async function invitedWithLink(ws: Workspace, email: string) {
  const sent = await invite(ws, { email });
  return { sent, token: await latestToken(ws, email) };
}

const accept = (token: string) => call("POST", "/v1/invitations/accept", { body: { token } });

/** Event types the workspace's log holds, oldest first. */
async function eventTypes(ws: Workspace) {
  const { results } = await (await shardDb(ws.id))
    .prepare("select type from events where workspace_id = ? order by seq")
    .bind(ws.id)
    .all<{ type: string }>();
  return results.map((r) => r.type);
}

/** A revoked invitation cannot be resent; inviting again brings the archived invitee back with a fresh one that works. */
async function expectOnlyANewInvitation(ws: Workspace, sent: { id: string; memberId: string }, email: string) {
  expect((await call("POST", `/v1/invitations/${sent.id}/resend`, { key: ws.key })).status).toBe(409);
  const again = await invite(ws, { email });
  expect(again.memberId).toBe(sent.memberId);
  expect((await accept(await latestToken(ws, email))).status).toBe(200);
}

afterEach(() => {
  vi.useRealTimers();
});

describe("invitations", () => {
  it("invites by email: the invitee is an invited member and the outbox holds the join link", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(new Date("2030-01-01T00:00:00.000Z"));
    const ws = await newWorkspace();
    const res = await call("POST", "/v1/invitations", {
      key: ws.key,
      body: { email: "Ivy@Example.test", role: "user", name: "Ivy" },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      email: "ivy@example.test",
      role: "user",
      status: "pending",
      expiresAt: "2030-01-08T00:00:00.000Z",
    });
    const invited = await call("GET", "/v1/members?status=invited", { key: ws.key });
    expect(invited.body.data).toEqual([
      expect.objectContaining({ id: res.body.memberId, email: "ivy@example.test", status: "invited" }),
    ]);
    const outbox = await call("GET", "/v1/outbox?to=ivy@example.test", { key: ws.key });
    expect(outbox.body.data).toEqual([
      expect.objectContaining({
        channel: "email",
        to: "ivy@example.test",
        text: expect.stringContaining("/join#token=lmi_"),
      }),
    ]);
    expect(await eventTypes(ws)).toEqual(["member.created", "api_key.created", "member.created", "invitation.created"]);
  });

  it("lives a whole life: resend kills the old link, accept activates and signs in, the link works once", async () => {
    const ws = await newWorkspace();
    const sent = await invite(ws, { email: "ada@example.test", role: "manager" });
    const first = await latestToken(ws, "ada@example.test");

    const resent = await call("POST", `/v1/invitations/${sent.id}/resend`, { key: ws.key });
    expect(resent.status).toBe(200);
    expect(resent.body.status).toBe("pending");
    const second = await latestToken(ws, "ada@example.test");
    expect(second).not.toBe(first);

    const old = await accept(first);
    expect(old.status).toBe(409);
    expect(old.body.error.code).toBe("invitation_superseded");

    const ok = await accept(second);
    expect(ok.status).toBe(200);
    expect(ok.body.member).toMatchObject({ id: sent.memberId, email: "ada@example.test", status: "active" });
    const setCookie = ok.headers.get("Set-Cookie") ?? "";
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Lax/);

    const cookie = sessionCookie(ok.headers);
    const list = await call("GET", "/v1/members", { headers: { Cookie: cookie } });
    expect(list.status).toBe(200);
    expect(list.body.data.map((m: { id: string }) => m.id)).toContain(sent.memberId);

    const again = await accept(second);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("invitation_used");

    const accepted = await call("GET", "/v1/invitations?status=accepted", { key: ws.key });
    expect(accepted.body.data.map((i: { id: string }) => i.id)).toEqual([sent.id]);
    expect(await eventTypes(ws)).toEqual([
      "member.created",
      "api_key.created",
      "member.created",
      "invitation.created",
      "invitation.resent",
      "invitation.accepted",
      "session.created",
    ]);
  });

  it("answers 410 invitation_expired seven days after the last (re)send, and lists it as expired", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const start = Date.parse("2030-03-01T12:00:00.000Z");
    vi.setSystemTime(start);
    const ws = await newWorkspace();
    const { sent, token } = await invitedWithLink(ws, "late@example.test");

    vi.setSystemTime(start + 7 * DAY);
    const res = await accept(token);
    expect(res.status).toBe(410);
    expect(res.body.error.code).toBe("invitation_expired");
    const expired = await call("GET", "/v1/invitations?status=expired", { key: ws.key });
    expect(expired.body.data.map((i: { id: string }) => i.id)).toEqual([sent.id]);
    const pending = await call("GET", "/v1/invitations?status=pending", { key: ws.key });
    expect(pending.body.data).toEqual([]);

    // A resend renews the seven days from now.
    const resent = await call("POST", `/v1/invitations/${sent.id}/resend`, { key: ws.key });
    expect(resent.body.expiresAt).toBe(new Date(start + 14 * DAY).toISOString());
    vi.setSystemTime(start + 14 * DAY - 1);
    expect((await accept(await latestToken(ws, "late@example.test"))).status).toBe(200);
  });

  it("lets exactly one of two concurrent accepts of one invitation through", async () => {
    const ws = await newWorkspace();
    const { sent, token } = await invitedWithLink(ws, "race@example.test");
    const results = await Promise.all([accept(token), accept(token), accept(token)]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 409, 409]);
    const { results: sessions } = await (await shardDb(ws.id))
      .prepare("select id from sessions where member_id = ?")
      .bind(sent.memberId)
      .all();
    expect(sessions).toHaveLength(1);
    expect((await eventTypes(ws)).filter((t) => t === "invitation.accepted")).toHaveLength(1);
  });

  it("revokes: the link answers 409 invitation_revoked and the invitee is archived", async () => {
    const ws = await newWorkspace();
    const { sent, token } = await invitedWithLink(ws, "gone@example.test");
    const revoked = await call("POST", `/v1/invitations/${sent.id}/revoke`, { key: ws.key });
    expect(revoked.status).toBe(200);
    expect(revoked.body.status).toBe("revoked");
    const res = await accept(token);
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe("invitation_revoked");
    expect((await call("GET", `/v1/members/${sent.memberId}`, { key: ws.key })).body.status).toBe("archived");
    await expectOnlyANewInvitation(ws, sent, "gone@example.test");
  });

  it("revokes the pending invitation of an invitee archived from the members list, as a revoke does", async () => {
    const ws = await newWorkspace();
    const { sent, token } = await invitedWithLink(ws, "left@example.test");
    const archived = await call("POST", `/v1/members/${sent.memberId}/archive`, { key: ws.key });
    expect(archived.status).toBe(200);
    expect((await call("GET", `/v1/invitations/${sent.id}`, { key: ws.key })).body.status).toBe("revoked");
    const pending = await call("GET", "/v1/invitations?status=pending", { key: ws.key });
    expect(pending.body.data).toEqual([]);
    expect((await eventTypes(ws)).slice(-2)).toEqual(["member.archived", "invitation.revoked"]);
    expect((await accept(token)).body.error.code).toBe("invitation_revoked");
    await expectOnlyANewInvitation(ws, sent, "left@example.test");
  });

  it("resends to the invitee's address as it is now, after a confirmed change of it", async () => {
    const ws = await newWorkspace();
    const sent = await invite(ws, { email: "eve@old.test" });
    const started = await call("POST", `/v1/members/${sent.memberId}/credential-changes`, {
      key: ws.key,
      body: { kind: "email", value: "eve@new.test" },
    });
    expect(started.status).toBe(202);
    const confirmed = await call("POST", "/v1/credential-changes/confirm", {
      body: { token: await latestToken(ws, "eve@old.test") },
    });
    expect(confirmed.status).toBe(200);
    const resent = await call("POST", `/v1/invitations/${sent.id}/resend`, { key: ws.key });
    expect(resent.status).toBe(200);
    expect(resent.body.email).toBe("eve@new.test");
    expect((await accept(await latestToken(ws, "eve@new.test"))).status).toBe(200);
  });

  it("lists one member's invitations with memberId=, newest first, and none for another workspace's member", async () => {
    const ws = await newWorkspace();
    const first = await invite(ws, { email: "twice@example.test" });
    await call("POST", `/v1/invitations/${first.id}/revoke`, { key: ws.key });
    const second = await invite(ws, { email: "twice@example.test" });
    for (let i = 0; i < 3; i++) await invite(ws, { email: `other${i}@example.test` });
    const listed = await call("GET", `/v1/invitations?memberId=${first.memberId}`, { key: ws.key });
    expect(listed.body.data.map((i: { id: string; status: string }) => [i.id, i.status])).toEqual([
      [second.id, "pending"],
      [first.id, "revoked"],
    ]);
    const elsewhere = await newWorkspace();
    const foreign = await call("GET", `/v1/invitations?memberId=${first.memberId}`, { key: elsewhere.key });
    expect(foreign.body).toEqual({ data: [], nextCursor: null });
  });

  it("answers malformed and unknown tokens with their own errors", async () => {
    expect((await accept("not-a-token")).body.error.code).toBe("malformed_token");
    expect((await accept("not-a-token")).status).toBe(400);
    const unknown = await accept(`lmi_${"A".repeat(43)}`);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe("unknown_token");
    expect((await call("POST", "/v1/invitations/accept", { body: {} })).status).toBe(422);
  });

  it("refuses to invite an active member's email (409) and a second pending invitation (409)", async () => {
    const ws = await newWorkspace();
    const member = await addMember(ws, { email: "here@example.test" });
    const res = await call("POST", "/v1/invitations", { key: ws.key, body: { email: "HERE@example.test" } });
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({ code: "already_member", existingId: member.id });

    const sent = await invite(ws, { email: "twice@example.test" });
    const twice = await call("POST", "/v1/invitations", { key: ws.key, body: { email: "twice@example.test" } });
    expect(twice.status).toBe(409);
    expect(twice.body.error).toMatchObject({ code: "already_invited", existingId: sent.id });
  });

  it("invites by phone: the link goes by SMS, with the same rules", async () => {
    const ws = await newWorkspace();
    const sent = await invite(ws, { phone: "+1 415 555 0199", name: "Sam" });
    expect(sent).toMatchObject({ phone: "+14155550199", email: null, channel: "sms", status: "pending" });
    const outbox = await call("GET", `/v1/outbox?to=${encodeURIComponent("+14155550199")}`, { key: ws.key });
    expect(outbox.body.data[0]).toMatchObject({ channel: "sms", to: "+14155550199" });
    const ok = await accept(await latestToken(ws, "+14155550199"));
    expect(ok.status).toBe(200);
    expect(ok.body.member).toMatchObject({ name: "Sam", phone: "+14155550199", status: "active" });
  });

  it("needs invitations:write to invite and workspace:admin to read the outbox", async () => {
    const ws = await newWorkspace();
    const sent = await invite(ws, { email: "u@example.test", role: "user" });
    const ok = await accept(await latestToken(ws, "u@example.test"));
    const cookie = sessionCookie(ok.headers);
    const res = await call("POST", "/v1/invitations", {
      headers: asBrowser(cookie),
      body: { email: "x@example.test" },
    });
    expect(res.status).toBe(403);
    expect((await call("GET", "/v1/outbox", { headers: { Cookie: cookie } })).status).toBe(403);
    expect(sent.role).toBe("user");
  });

  it("publishes the invitation, join request, sign-in and outbox routes in the OpenAPI document", async () => {
    const res = await call("GET", "/openapi.json");
    const paths = Object.keys(res.body.paths);
    for (const path of [
      "/v1/invitations",
      "/v1/invitations/accept",
      "/v1/invitations/{id}/resend",
      "/v1/invitations/{id}/revoke",
      "/v1/join-requests",
      "/v1/join-requests/{id}/approve",
      "/public/{slug}/join-requests",
      "/v1/auth/login",
      "/v1/auth/verify",
      "/v1/auth/logout",
      "/v1/outbox",
    ]) {
      expect(paths).toContain(path);
    }
  });
});
