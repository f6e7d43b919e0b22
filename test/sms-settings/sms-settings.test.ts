import { describe, expect, it } from "vitest";
import { logHead, rows } from "../db";
import { addRole, call, keyForRole, newWorkspace } from "../helpers";
import {
  ACCOUNT_SID,
  AUTH_TOKEN,
  configureSms,
  eventTypesAfter,
  newNumber,
  postInbound,
  smsParams,
  storedRows,
} from "../provider/twilio";

describe("PUT /v1/settings/sms", () => {
  it("stores the Twilio account and never returns or logs the auth token", async () => {
    const ws = await newWorkspace();
    const settings = await configureSms(ws, { numbers: ["+1 415 555 0100", "+14155550100"] });
    expect(settings).toMatchObject({ provider: "twilio", numbers: ["+14155550100"], anonymousExpiryDays: null });
    expect(settings.authTokenLast4).toBe(AUTH_TOKEN.slice(-4));
    expect(JSON.stringify(settings)).not.toContain(AUTH_TOKEN);
    expect(settings.webhooks.sms).toBe(`http://localhost/webhooks/twilio/${ws.id}/sms`);
    const read = await call("GET", "/v1/settings/sms", { key: ws.key });
    expect(JSON.stringify(read.body)).not.toContain(AUTH_TOKEN);
    const rows = await storedRows(ws.id);
    expect(JSON.stringify(rows.events)).not.toContain(AUTH_TOKEN);
    expect(await eventTypesAfter(ws.id)).toContain("settings.sms_updated");
  });

  it("keeps the auth token sealed at rest, bound to its workspace", async () => {
    const [ws, other] = await Promise.all([newWorkspace(), newWorkspace()]);
    await Promise.all([configureSms(ws), configureSms(other, { authToken: "0".repeat(32) })]);
    const stored = async (id: string) =>
      (await rows<{ token: string }>(id, "select auth_token as token from sms_settings where workspace_id = ?", id))[0]
        ?.token ?? "";
    const sealed = await stored(ws.id);
    expect(sealed).toMatch(/^v1\./);
    expect(sealed).not.toContain(AUTH_TOKEN);
    expect(sealed).not.toContain(btoa(AUTH_TOKEN).slice(0, 20));
    expect((await postInbound(ws.id, "sms", smsParams(newNumber(), "hi"))).status).toBe(200);

    // The sealed value copied into another workspace's row opens nowhere: its inbound requests fail, its settings show no token.
    await rows(other.id, "update sms_settings set auth_token = ? where workspace_id = ?", sealed, other.id);
    expect((await postInbound(other.id, "sms", smsParams(newNumber(), "hi"))).status).toBe(403);
    expect((await call("GET", "/v1/settings/sms", { key: other.key })).body.authTokenLast4).toBe("");

    // An edit without a token cannot keep one that no longer opens: it asks for it again.
    const edit = { provider: "twilio", accountSid: "AC1", numbers: [] };
    const unreadable = await call("PUT", "/v1/settings/sms", { key: other.key, body: edit });
    expect(unreadable.status).toBe(422);
    expect(unreadable.body.error.issues[0]).toMatchObject({
      path: "authToken",
      message: expect.stringContaining("SECRETS_KEY"),
    });

    // A token stored before sealing began still verifies, and the next save, even without it, seals it.
    await rows(other.id, "update sms_settings set auth_token = ? where workspace_id = ?", AUTH_TOKEN, other.id);
    expect((await postInbound(other.id, "sms", smsParams(newNumber(), "hi"))).status).toBe(200);
    expect((await call("PUT", "/v1/settings/sms", { key: other.key, body: edit })).status).toBe(200);
    expect(await stored(other.id)).toMatch(/^v1\./);
    expect((await postInbound(other.id, "sms", smsParams(newNumber(), "hi"))).status).toBe(200);
  });

  it("keeps the stored token when an edit omits it, and asks for one the first time", async () => {
    const ws = await newWorkspace();
    const first = await call("PUT", "/v1/settings/sms", {
      key: ws.key,
      body: { provider: "twilio", accountSid: "AC1", numbers: [] },
    });
    expect(first.status).toBe(422);
    expect(first.body.error.issues[0].path).toBe("authToken");
    await configureSms(ws);
    const edit = await call("PUT", "/v1/settings/sms", {
      key: ws.key,
      body: { provider: "twilio", accountSid: "AC1", numbers: [], anonymousExpiryDays: 30 },
    });
    expect(edit.status).toBe(200);
    expect(edit.body.anonymousExpiryDays).toBe(30);
    // Still verifies with the token given first.
    const res = await postInbound(ws.id, "sms", smsParams(newNumber(), "hi"));
    expect(res.status).toBe(200);
  });

  it("refuses invalid numbers and callers without workspace:admin", async () => {
    const ws = await newWorkspace();
    const bad = await call("PUT", "/v1/settings/sms", {
      key: ws.key,
      body: { provider: "twilio", accountSid: "AC1", authToken: AUTH_TOKEN, numbers: ["12"] },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.error.issues[0].path).toBe("numbers.0");
    await addRole(ws, "editor", ["members:admin", "workspace:read"]);
    const { key } = await keyForRole(ws, "editor");
    const denied = await call("PUT", "/v1/settings/sms", {
      key,
      body: { provider: "twilio", accountSid: "AC1", authToken: AUTH_TOKEN, numbers: [] },
    });
    expect(denied.status).toBe(403);
  });

  it("never quotes the auth token in an error, whatever else is wrong", async () => {
    const ws = await newWorkspace();
    const secret = "s3cr3t-token-VALUE-123";
    const valid = { provider: "twilio", accountSid: "AC1", numbers: [] };
    const refusals = [
      { ...valid, authToken: 123456789012 },
      { ...valid, authToken: { secret } },
      { ...valid, authToken: `${secret}${"x".repeat(300)}` },
      { ...valid, authToken: secret, accountSid: "XX" },
      { ...valid, authToken: secret, numbers: ["nope"], extra: 1 },
      { ...valid, authToken: secret, provider: "nope" },
    ];
    for (const body of refusals) {
      const res = await call("PUT", "/v1/settings/sms", { key: ws.key, body });
      expect(res.status).toBe(422);
      expect(JSON.stringify(res.body)).not.toMatch(/s3cr3t|123456789012/);
    }
    const tooShort = await call("PUT", "/v1/settings/sms", { key: ws.key, body: { ...valid, authToken: 42 } });
    expect(tooShort.body.error.issues).toEqual([
      { path: "authToken", message: "The auth token is a string of 8 to 256 characters." },
    ]);
  });
});

describe("who may change the SMS provider", () => {
  const repoint = { provider: "twilio", accountSid: "ACattacker", authToken: "attacker-token-0000", numbers: [] };
  const EVERY_ADMIN_SCOPE = [
    "members:admin",
    "labels:admin",
    "invitations:admin",
    "join_requests:admin",
    "roles:admin",
    "automations:admin",
    "workspace:admin",
  ];

  it("a role with only workspace:admin may not repoint the Twilio account that carries every SMS link", async () => {
    const ws = await newWorkspace();
    await configureSms(ws);
    await addRole(ws, "settings-admin", ["workspace:admin"]);
    const { key } = await keyForRole(ws, "settings-admin");
    const before = await logHead(ws.id);

    const res = await call("PUT", "/v1/settings/sms", { key, body: repoint });

    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe("forbidden");
    expect(res.body.error.message).toContain("members:admin");
    expect(res.body.error.message).toContain("automations:admin");
    expect(res.body.error.message).not.toContain("workspace:admin");
    const read = await call("GET", "/v1/settings/sms", { key: ws.key });
    expect(read.body).toMatchObject({ accountSid: ACCOUNT_SID, authTokenLast4: AUTH_TOKEN.slice(-4) });
    expect(await logHead(ws.id)).toBe(before);
    // Reading stays open to workspace:admin: the settings hold no message and no secret.
    const own = await call("GET", "/v1/settings/sms", { key });
    expect(own.status).toBe(200);
    expect(JSON.stringify(own.body)).not.toContain(AUTH_TOKEN);
  });

  it("a manager's key narrowed to workspace:admin may not change it either", async () => {
    const ws = await newWorkspace();
    const narrowed = await call("POST", "/v1/api-keys", {
      key: ws.key,
      body: { name: "Settings only", scopes: ["workspace:admin"] },
    });
    const res = await call("PUT", "/v1/settings/sms", { key: narrowed.body.key, body: repoint });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe("forbidden");
  });

  it("a custom role holding every admin scope changes it, as the manager does", async () => {
    const ws = await newWorkspace();
    await addRole(ws, "deputy", EVERY_ADMIN_SCOPE);
    const { key } = await keyForRole(ws, "deputy");
    const res = await call("PUT", "/v1/settings/sms", { key, body: repoint });
    expect(res.status).toBe(200);
    expect(res.body.accountSid).toBe("ACattacker");
  });

  it("every admin scope under a role condition is not enough: the provider carries every member's messages", async () => {
    const ws = await newWorkspace();
    await addRole(ws, "desk", EVERY_ADMIN_SCOPE, "team", `!("vip" in member.labels)`);
    const { key } = await keyForRole(ws, "desk");
    const res = await call("PUT", "/v1/settings/sms", { key, body: repoint });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe("forbidden_by_condition");
    expect((await call("GET", "/v1/settings/sms", { key: ws.key })).status).toBe(404);
  });
});
