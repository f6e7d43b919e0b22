import { afterEach, describe, expect, it, vi } from "vitest";
import { snapshot } from "../db";
import { addMember, call, newWorkspace, type Workspace } from "../helpers";
import { confirmChange, startedChange } from "./helpers";

const HOUR = 3_600_000;

afterEach(() => {
  vi.useRealTimers();
});

const preview = (token: unknown) => call("POST", "/v1/credential-changes/preview", { body: { token } });

const outboxFor = async (ws: Workspace, to: string) =>
  (await call("GET", `/v1/outbox?to=${encodeURIComponent(to)}`, { key: ws.key })).body.data as {
    channel: string;
    subject: string;
    text: string;
  }[];

describe("previewing a credential change by its link", () => {
  it("answers the kind, the old and new value and the expiry, and changes nothing", async () => {
    const ws = await newWorkspace();
    const member = await addMember(ws, { name: "Eve", email: "eve@old.test" });
    const { change, token } = await startedChange(
      ws,
      member.id,
      { kind: "email", value: "eve@new.test" },
      "eve@old.test",
    );
    const before = await snapshot(ws.id);
    const res = await preview(token);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      kind: "email",
      oldValue: "eve@old.test",
      newValue: "eve@new.test",
      expiresAt: change.expiresAt,
    });
    // Twice, as a link scanner and then the member would open it: nothing changes, the link still works.
    expect((await preview(token)).status).toBe(200);
    expect(await snapshot(ws.id)).toEqual(before);
    expect((await confirmChange(token)).status).toBe(200);
  });

  it("shows a phone change of a member without a phone with no old value", async () => {
    const ws = await newWorkspace();
    const member = await addMember(ws, { email: "nophone@x.test" });
    const { token } = await startedChange(ws, member.id, { kind: "phone", value: "+442071838750" }, "nophone@x.test");
    expect((await preview(token)).body).toMatchObject({ kind: "phone", oldValue: null, newValue: "+442071838750" });
  });

  it("answers the confirm route's errors: 404 unknown, 409 used, superseded or taken, 410 expired, 400 malformed", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const start = Date.parse("2031-05-01T00:00:00.000Z");
    vi.setSystemTime(start);
    const ws = await newWorkspace();
    const member = await addMember(ws, { email: "p@x.test", phone: "+14155550150" });

    const unknown = await preview(`lmx_${"A".repeat(43)}`);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe("unknown_token");
    expect((await preview("nope")).status).toBe(400);
    expect((await preview(undefined)).status).toBe(422);

    const older = await startedChange(ws, member.id, { kind: "email", value: "p1@x.test" }, "p@x.test");
    const newer = await startedChange(ws, member.id, { kind: "email", value: "p2@x.test" }, "p@x.test");
    expect((await preview(older.token)).body.error.code).toBe("change_superseded");

    const phone = await startedChange(ws, member.id, { kind: "phone", value: "+14155550151" }, "+14155550150");
    await addMember(ws, { phone: "+14155550151" });
    const taken = await preview(phone.token);
    expect(taken.status).toBe(409);
    expect(taken.body.error.code).toBe("duplicate");

    expect((await confirmChange(newer.token)).status).toBe(200);
    const used = await preview(newer.token);
    expect(used.status).toBe(409);
    expect(used.body.error.code).toBe("change_used");

    const late = await startedChange(ws, member.id, { kind: "email", value: "p3@x.test" }, "p2@x.test");
    vi.setSystemTime(start + 24 * HOUR);
    const expired = await preview(late.token);
    expect(expired.status).toBe(410);
    expect(expired.body.error.code).toBe("change_expired");
  });

  it("is published in the OpenAPI document as a public route", async () => {
    const doc = (await call("GET", "/openapi.json")).body;
    const op = doc.paths["/v1/credential-changes/preview"]?.post;
    expect(op).toBeDefined();
    expect(op.security).toEqual([]);
    expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(["200", "404", "409", "410"]));
  });
});

describe("the notice after a confirmed change", () => {
  it("tells the old email, without a link or token, that the email was changed", async () => {
    const ws = await newWorkspace();
    const member = await addMember(ws, { name: "Eve", email: "eve@old.test" });
    const { token } = await startedChange(ws, member.id, { kind: "email", value: "eve@new.test" }, "eve@old.test");
    expect(await outboxFor(ws, "eve@old.test")).toHaveLength(1);
    expect((await confirmChange(token)).status).toBe(200);

    const [notice, link] = await outboxFor(ws, "eve@old.test");
    expect(link?.text).toContain("#token=");
    expect(notice).toMatchObject({ channel: "email", subject: expect.stringMatching(/changed/i) });
    expect(notice?.text).toContain("eve@new.test");
    expect(notice?.text).not.toMatch(/https?:|token|lmx_/);
    expect(await outboxFor(ws, "eve@new.test")).toEqual([]);
  });

  it("tells a member's email of a phone change, and the old phone by SMS when they have no email", async () => {
    const ws = await newWorkspace();
    const withEmail = await addMember(ws, { email: "pat@x.test", phone: "+14155550160" });
    const first = await startedChange(ws, withEmail.id, { kind: "phone", value: "+14155550161" }, "+14155550160");
    expect((await confirmChange(first.token)).status).toBe(200);
    const [emailed] = await outboxFor(ws, "pat@x.test");
    expect(emailed).toMatchObject({ channel: "email" });
    expect(emailed?.text).toContain("+14155550161");
    expect(emailed?.text).not.toMatch(/https?:|token|lmx_/);

    const phoneOnly = await addMember(ws, { phone: "+14155550170" });
    const second = await startedChange(ws, phoneOnly.id, { kind: "phone", value: "+14155550171" }, "+14155550170");
    expect((await confirmChange(second.token)).status).toBe(200);
    const [texted, link] = await outboxFor(ws, "+14155550170");
    expect(link?.text).toContain("#token=");
    expect(texted).toMatchObject({ channel: "sms" });
    expect(texted?.text).not.toMatch(/https?:|token|lmx_/);
    expect(await outboxFor(ws, "+14155550171")).toEqual([]);
  });

  it("is not sent for a refused confirmation", async () => {
    const ws = await newWorkspace();
    const member = await addMember(ws, { email: "once@x.test" });
    const { token } = await startedChange(ws, member.id, { kind: "email", value: "twice@x.test" }, "once@x.test");
    expect((await confirmChange(token)).status).toBe(200);
    expect((await confirmChange(token)).status).toBe(409);
    expect(await outboxFor(ws, "once@x.test")).toHaveLength(2);
  });
});
