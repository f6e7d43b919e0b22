import { afterEach, describe, expect, it, vi } from "vitest";
import { linkHours } from "../../worker/credentials/start";
import { eventsOf, rows } from "../db";
import { addMember, call, keyForRole, newWorkspace } from "../helpers";
import { latestToken, sessionCookie } from "../links";
import { openLive, waitFor } from "../live/sockets";
import { confirmChange, listChanges, startChange, startedChange } from "./helpers";

const HOUR = 3_600_000;

afterEach(() => {
  vi.useRealTimers();
});

const outboxFor = async (ws: { key: string }, to: string) =>
  (await call("GET", `/v1/outbox?to=${encodeURIComponent(to)}`, { key: ws.key })).body.data as {
    channel: string;
    text: string;
  }[];

describe("changing a member's email", () => {
  it("sends the link to the current email; once confirmed the member has and signs in with the new one", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(new Date("2031-03-01T10:00:00.000Z"));
    const ws = await newWorkspace();
    const member = await addMember(ws, { name: "Eve", email: "eve@old.test" });

    const res = await startChange(ws, member.id, { kind: "email", value: "  Eve@New.TEST " });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^crc_/),
      kind: "email",
      status: "pending",
      sentTo: "email",
      expiresAt: "2031-03-02T10:00:00.000Z",
    });
    const sent = await outboxFor(ws, "eve@old.test");
    expect(sent).toEqual([
      expect.objectContaining({ channel: "email", text: expect.stringContaining("eve@new.test") }),
    ]);
    expect(await outboxFor(ws, "eve@new.test")).toEqual([]);
    // Nothing changes until the member confirms.
    expect((await call("GET", `/v1/members/${member.id}`, { key: ws.key })).body.email).toBe("eve@old.test");

    const confirmed = await confirmChange(await latestToken(ws, "eve@old.test"));
    expect(confirmed.status).toBe(200);
    expect(confirmed.body.member).toMatchObject({ id: member.id, email: "eve@new.test", status: "active" });
    expect((await call("GET", `/v1/members/${member.id}`, { key: ws.key })).body.email).toBe("eve@new.test");

    vi.useRealTimers();
    const login = (email: string) => call("POST", "/v1/auth/login", { body: { workspace: ws.slug, email } });
    expect((await login("eve@new.test")).status).toBe(202);
    const verified = await call("POST", "/v1/auth/verify", { body: { token: await latestToken(ws, "eve@new.test") } });
    expect(verified.status).toBe(200);
    expect(verified.body.member).toMatchObject({ id: member.id, email: "eve@new.test" });
    expect(sessionCookie(verified.headers)).toMatch(/^lm_session=/);
    // The old address gets no sign-in link any more: only the confirmation link and the notice of the change.
    expect((await login("eve@old.test")).status).toBe(202);
    const old = await outboxFor(ws, "eve@old.test");
    expect(old).toHaveLength(2);
    expect(old.filter((m) => m.text.includes("/sign-in#token="))).toEqual([]);
  });

  it("sends an email change of a member without email by SMS to their phone", async () => {
    const ws = await newWorkspace();
    const member = await addMember(ws, { phone: "+14155550111" });
    const res = await startChange(ws, member.id, { kind: "email", value: "first@x.test" });
    expect(res.status).toBe(202);
    expect(res.body.sentTo).toBe("sms");
    expect(await outboxFor(ws, "+14155550111")).toEqual([expect.objectContaining({ channel: "sms" })]);
    const confirmed = await confirmChange(await latestToken(ws, "+14155550111"));
    expect(confirmed.body.member).toMatchObject({ email: "first@x.test", phone: "+14155550111" });
  });
});

describe("changing a member's phone", () => {
  it("normalizes the new number to E.164 and sends the link by SMS to the current phone", async () => {
    const ws = await newWorkspace();
    const member = await addMember(ws, { email: "pat@x.test", phone: "+14155550100" });
    const res = await startChange(ws, member.id, { kind: "phone", value: "+1 (415) 555-0199" });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ kind: "phone", sentTo: "sms", status: "pending" });
    expect(await outboxFor(ws, "+14155550100")).toEqual([
      expect.objectContaining({ channel: "sms", text: expect.stringContaining("/credential-change#token=lmx_") }),
    ]);
    expect(await outboxFor(ws, "pat@x.test")).toEqual([]);

    const confirmed = await confirmChange(await latestToken(ws, "+14155550100"));
    expect(confirmed.status).toBe(200);
    expect(confirmed.body.member).toMatchObject({ phone: "+14155550199" });
    // Search finds the member by the new national number (phone_national was updated too).
    const found = await call("GET", "/v1/members?q=4155550199", { key: ws.key });
    expect(found.body.data.map((m: { id: string }) => m.id)).toEqual([member.id]);
  });

  it("sends the link by email when the member has no phone", async () => {
    const ws = await newWorkspace();
    const member = await addMember(ws, { email: "nophone@x.test" });
    const res = await startChange(ws, member.id, { kind: "phone", value: "+442071838750" });
    expect(res.status).toBe(202);
    expect(res.body.sentTo).toBe("email");
    expect(await outboxFor(ws, "nophone@x.test")).toEqual([expect.objectContaining({ channel: "email" })]);
    const confirmed = await confirmChange(await latestToken(ws, "nophone@x.test"));
    expect(confirmed.body.member).toMatchObject({ email: "nophone@x.test", phone: "+442071838750" });
  });

  it("answers 409 no_contact for a member with neither email nor phone", async () => {
    const ws = await newWorkspace();
    const member = await addMember(ws, { externalId: "crm-42" });
    const res = await startChange(ws, member.id, { kind: "phone", value: "+14155550123" });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe("no_contact");
  });
});

describe("links", () => {
  it("expire after 24 hours: 410, and the audit list shows the change as expired", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const start = Date.parse("2031-05-01T00:00:00.000Z");
    vi.setSystemTime(start);
    const ws = await newWorkspace();
    const member = await addMember(ws, { email: "late@x.test" });
    const { token } = await startedChange(ws, member.id, { kind: "email", value: "later@x.test" }, "late@x.test");
    vi.setSystemTime(start + 24 * HOUR);
    const res = await confirmChange(token);
    expect(res.status).toBe(410);
    expect(res.body.error.code).toBe("change_expired");
    expect((await listChanges(ws, member.id)).body.data[0].status).toBe("expired");
    expect((await call("GET", `/v1/members/${member.id}`, { key: ws.key })).body.email).toBe("late@x.test");
  });

  it("still work a moment before they expire", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const start = Date.parse("2031-05-01T00:00:00.000Z");
    vi.setSystemTime(start);
    const ws = await newWorkspace();
    const member = await addMember(ws, { email: "ontime@x.test" });
    const { token } = await startedChange(ws, member.id, { kind: "email", value: "ontime2@x.test" }, "ontime@x.test");
    vi.setSystemTime(start + 24 * HOUR - 1);
    expect((await confirmChange(token)).status).toBe(200);
  });

  it("live 24 hours unless CREDENTIAL_CHANGE_TTL_HOURS sets whole hours from 1 to 720", () => {
    expect(linkHours({})).toBe(24);
    expect(linkHours({ CREDENTIAL_CHANGE_TTL_HOURS: "2" })).toBe(2);
    expect(linkHours({ CREDENTIAL_CHANGE_TTL_HOURS: "0" })).toBe(24);
    expect(linkHours({ CREDENTIAL_CHANGE_TTL_HOURS: "1.5" })).toBe(24);
    expect(linkHours({ CREDENTIAL_CHANGE_TTL_HOURS: "soon" })).toBe(24);
  });

  it("are superseded by a newer change of the same kind, which alone works", async () => {
    const ws = await newWorkspace();
    const member = await addMember(ws, { email: "sup@x.test", phone: "+14155550140" });
    const older = await startedChange(ws, member.id, { kind: "email", value: "a@x.test" }, "sup@x.test");
    const phone = await startedChange(ws, member.id, { kind: "phone", value: "+14155550141" }, "+14155550140");
    const newer = await startedChange(ws, member.id, { kind: "email", value: "b@x.test" }, "sup@x.test");

    const stale = await confirmChange(older.token);
    expect(stale.status).toBe(409);
    expect(stale.body.error.code).toBe("change_superseded");
    expect((await confirmChange(newer.token)).body.member.email).toBe("b@x.test");
    // A change of the other kind is not superseded by it.
    expect((await confirmChange(phone.token)).body.member).toMatchObject({ email: "b@x.test", phone: "+14155550141" });
    const statuses = (await listChanges(ws, member.id)).body.data.map((c: { status: string }) => c.status);
    expect(statuses).toEqual(["confirmed", "confirmed", "superseded"]);
  });

  it("work once", async () => {
    const ws = await newWorkspace();
    const member = await addMember(ws, { email: "once@x.test" });
    const { token } = await startedChange(ws, member.id, { kind: "email", value: "twice@x.test" }, "once@x.test");
    expect((await confirmChange(token)).status).toBe(200);
    const again = await confirmChange(token);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("change_used");
  });

  it("answer 409 member_archived when the member was archived after the change started", async () => {
    const ws = await newWorkspace();
    const member = await addMember(ws, { email: "arch@x.test" });
    const { token } = await startedChange(ws, member.id, { kind: "email", value: "arch2@x.test" }, "arch@x.test");
    expect((await call("POST", `/v1/members/${member.id}/archive`, { key: ws.key })).status).toBe(200);
    const res = await confirmChange(token);
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe("member_archived");
    const archived = await call("GET", `/v1/members/${member.id}`, { key: ws.key });
    expect(archived.body).toMatchObject({ email: "arch@x.test", status: "archived" });
  });

  it("answer 409 duplicate when another member took the value after the change started", async () => {
    const ws = await newWorkspace();
    const member = await addMember(ws, { email: "slow@x.test" });
    const { token } = await startedChange(ws, member.id, { kind: "email", value: "wanted@x.test" }, "slow@x.test");
    const quick = await addMember(ws, { email: "wanted@x.test" });
    const res = await confirmChange(token);
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({ code: "duplicate", existingId: quick.id });
    expect((await call("GET", `/v1/members/${member.id}`, { key: ws.key })).body.email).toBe("slow@x.test");
  });
});

describe("bad input", () => {
  it("answers 4xx in the contract's error shape", async () => {
    const ws = await newWorkspace();
    const member = await addMember(ws, { email: "bad@x.test", phone: "+14155550150" });
    const other = await addMember(ws, { email: "taken@x.test" });
    const path = `/v1/members/${member.id}/credential-changes`;
    const cases: [unknown, number, string, string?][] = [
      [{ kind: "email", value: "not-an-email" }, 422, "validation_failed", "value"],
      [{ kind: "phone", value: "12" }, 422, "validation_failed", "value"],
      [{ kind: "phone", value: 4155550100 }, 422, "validation_failed", "value"],
      [{ kind: "fax", value: "x" }, 422, "validation_failed", "kind"],
      [{ value: "a@x.test" }, 422, "validation_failed", "kind"],
      [{ kind: "email", value: "a@x.test", extra: true }, 422, "validation_failed"],
      [{ kind: "email", value: "bad@x.test" }, 422, "validation_failed", "value"],
      [{ kind: "phone", value: "+1 415 555 0150" }, 422, "validation_failed", "value"],
      [{ kind: "email", value: "TAKEN@x.test" }, 409, "duplicate"],
    ];
    for (const [body, status, code, field] of cases) {
      const res = await call("POST", path, { key: ws.key, body });
      expect({ body, status: res.status, code: res.body.error.code }).toEqual({ body, status, code });
      expect(typeof res.body.error.message).toBe("string");
      if (field) expect(res.body.error.issues.map((i: { path: string }) => i.path)).toContain(field);
    }
    const dup = await call("POST", path, { key: ws.key, body: { kind: "email", value: "taken@x.test" } });
    expect(dup.body.error.existingId).toBe(other.id);

    const text = await call("POST", path, {
      key: ws.key,
      rawBody: "kind=email",
      headers: { "Content-Type": "text/plain" },
    });
    expect(text.status).toBe(415);
    const broken = await call("POST", path, {
      key: ws.key,
      rawBody: "{",
      headers: { "Content-Type": "application/json" },
    });
    expect(broken.status).toBe(400);
    const missing = await call("POST", "/v1/members/mem_nope/credential-changes", {
      key: ws.key,
      body: { kind: "email", value: "z@x.test" },
    });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe("not_found");
    expect((await call("POST", path, { body: { kind: "email", value: "z@x.test" } })).status).toBe(401);

    // Nothing was started by any of these.
    expect((await listChanges(ws, member.id)).body.data).toEqual([]);
  });

  it("answers 409 member_archived when starting a change of an archived member", async () => {
    const ws = await newWorkspace();
    const member = await addMember(ws, { email: "gone@x.test" });
    await call("POST", `/v1/members/${member.id}/archive`, { key: ws.key });
    const res = await startChange(ws, member.id, { kind: "email", value: "back@x.test" });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe("member_archived");
  });

  it("refuses malformed and unknown confirmation tokens", async () => {
    const malformed = await confirmChange("not-a-token");
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe("malformed_token");
    const unknown = await confirmChange(`lmx_${"A".repeat(43)}`);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe("unknown_token");
    const invitationToken = await confirmChange(`lmi_${"A".repeat(43)}`);
    expect(invitationToken.status).toBe(400);
    const empty = await call("POST", "/v1/credential-changes/confirm", { body: {} });
    expect(empty.status).toBe(422);
  });
});

describe("who sees what", () => {
  it("needs members:write to start and members:admin to list old and new values", async () => {
    const ws = await newWorkspace();
    const member = await addMember(ws, { email: "who@x.test" });
    const reader = await keyForRole(ws, "manager", ["members:read"]);
    // labels:read as well, to outrank the member's built-in user role.
    const writer = await keyForRole(ws, "manager", ["members:write", "labels:read"]);
    const body = { kind: "email", value: "who2@x.test" };
    expect((await startChange(ws, member.id, body, reader.key)).status).toBe(403);
    expect((await startChange(ws, member.id, body, writer.key)).status).toBe(202);
    await confirmChange(await latestToken(ws, "who@x.test"));

    const denied = await listChanges(ws, member.id, writer.key);
    expect(denied.status).toBe(403);
    expect(denied.body.error.code).toBe("forbidden");
    const listed = await listChanges(ws, member.id);
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual({
      data: [
        expect.objectContaining({
          memberId: member.id,
          kind: "email",
          status: "confirmed",
          oldValue: "who@x.test",
          newValue: "who2@x.test",
          sentTo: "email",
          requestedBy: writer.member.id,
          confirmedAt: expect.any(String),
        }),
      ],
      nextCursor: null,
    });
    expect(JSON.stringify(listed.body)).not.toMatch(/token|lmx_/i);
  });

  it("answers 404 to another workspace's key, for starting and for listing", async () => {
    const ws = await newWorkspace();
    const stranger = await newWorkspace();
    const member = await addMember(ws, { email: "mine@x.test" });
    const started = await startChange(stranger, member.id, { kind: "email", value: "theirs@x.test" });
    expect(started.status).toBe(404);
    expect((await listChanges(stranger, member.id, stranger.key)).status).toBe(404);
    expect((await listChanges(ws, member.id)).body.data).toEqual([]);
  });

  it("keeps tokens, their hashes and old or new values out of the event log", async () => {
    const ws = await newWorkspace();
    const member = await addMember(ws, { email: "quiet@x.test", phone: "+14155550160" });
    const email = await startedChange(ws, member.id, { kind: "email", value: "hush@x.test" }, "quiet@x.test");
    const phone = await startedChange(ws, member.id, { kind: "phone", value: "+14155550161" }, "+14155550160");
    await confirmChange(phone.token);
    await confirmChange(email.token);
    const hashes = await rows<{ token_hash: string }>(
      ws.id,
      "select token_hash from credential_changes where member_id = ?",
      member.id,
    );
    const events = (await eventsOf(ws.id)).filter(
      (e) => e.type.startsWith("credential_change.") || e.type === "member.credential_changed",
    );
    const log = JSON.stringify(events);
    for (const secret of [email.token, phone.token, ...hashes.map((h) => h.token_hash)]) {
      expect(log).not.toContain(secret);
    }
    // Each change's events carry the member as it is now, never the value it replaced.
    const [, , phoneChanged, emailChanged] = events.map((e) => JSON.stringify(e));
    expect(phoneChanged).not.toContain("+14155550160");
    expect(emailChanged).not.toContain("quiet@x.test");
    expect(log).not.toMatch(/oldValue|newValue/);
    expect(events.map((e) => e.type)).toEqual([
      "credential_change.started",
      "credential_change.started",
      "member.credential_changed",
      "member.credential_changed",
    ]);
    expect(events[3]?.data).toEqual({
      member: expect.objectContaining({ id: member.id, email: "hush@x.test", phone: "+14155550161" }),
      credentialChange: { id: email.change.id, kind: "email" },
    });
  });

  it("shows member.credential_changed on the live stream", async () => {
    const ws = await newWorkspace();
    const member = await addMember(ws, { email: "old-live@x.test" });
    const socket = await openLive({ key: ws.key });
    const { token } = await startedChange(
      ws,
      member.id,
      { kind: "email", value: "new-live@x.test" },
      "old-live@x.test",
    );
    expect((await confirmChange(token)).status).toBe(200);
    const changed = () =>
      socket.messages.find((m) => "type" in m && m.type === "member.credential_changed") as
        | { data: { member: { id: string; email: string } } }
        | undefined;
    await waitFor("member.credential_changed", () => changed() !== undefined, 2_000);
    expect(changed()?.data.member).toMatchObject({ id: member.id, email: "new-live@x.test" });
    expect(JSON.stringify(socket.messages)).not.toContain("old-live@x.test");
    socket.ws.close();
  });
});
