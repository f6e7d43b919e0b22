import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { verifyTurnstile } from "../../worker/join-requests/turnstile";
import { type Message, type MessagingEnv, send } from "../../worker/outbox/send";
import { shardDb } from "../db";
import { call, newWorkspace } from "../helpers";
import { outboxTo } from "../links";

type Recorded = { url: string; method: string; headers: Headers; text(): Promise<string>; json(): Promise<unknown> };

/**
 * Replaces the runtime's outbound fetch (the Worker and the tests share one isolate) and
 * records each request, its body read inside the request that sent it (workerd forbids
 * reading a stream from another request's context). @cloudflare/vitest-plugin 1.x no
 * longer ships `fetchMock`.
 */
function mockFetch(status: number, json: unknown) {
  const requests: Recorded[] = [];
  const spy = vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    const body = await request.text();
    requests.push({
      url: request.url,
      method: request.method,
      headers: request.headers,
      text: async () => body,
      json: async () => JSON.parse(body),
    });
    return Response.json(json, { status });
  });
  return { requests, spy };
}

const email: Message = {
  workspaceId: "ws_test",
  channel: "email",
  to: "ivy@example.test",
  subject: "Invitation to join Acme",
  text: "Join: https://members.example.test/join#token=lmi_x",
};
const sms: Message = { ...email, channel: "sms", to: "+14155550100", text: "Join Acme: https://x.test/join" };

afterEach(() => {
  vi.restoreAllMocks();
});

describe("message providers", () => {
  it("sends email through Resend's REST API when RESEND_API_KEY is set", async () => {
    const { requests } = mockFetch(200, { id: "re_123" });
    const config: MessagingEnv = { ...env, RESEND_API_KEY: "re_secret", EMAIL_FROM: "Acme <no-reply@acme.test>" };
    expect(await send(config, email)).toEqual({ delivered: true, provider: "resend" });
    expect(requests).toHaveLength(1);
    const [request] = requests;
    expect(request?.method).toBe("POST");
    expect(request?.url).toBe("https://api.resend.com/emails");
    expect(request?.headers.get("Authorization")).toBe("Bearer re_secret");
    expect(request?.headers.get("Content-Type")).toBe("application/json");
    expect(await request?.json()).toEqual({
      from: "Acme <no-reply@acme.test>",
      to: ["ivy@example.test"],
      subject: email.subject,
      text: email.text,
    });
  });

  it("sends SMS through Twilio's Messages API with basic auth and a form body", async () => {
    const { requests } = mockFetch(201, { sid: "SM123" });
    const config: MessagingEnv = {
      ...env,
      TWILIO_ACCOUNT_SID: "AC123",
      TWILIO_AUTH_TOKEN: "tok",
      TWILIO_FROM: "+14155550000",
    };
    expect(await send(config, sms)).toEqual({ delivered: true, provider: "twilio" });
    const [request] = requests;
    expect(request?.url).toBe("https://api.twilio.com/2010-04-01/Accounts/AC123/Messages.json");
    expect(request?.headers.get("Authorization")).toBe(`Basic ${btoa("AC123:tok")}`);
    expect(request?.headers.get("Content-Type")).toBe("application/x-www-form-urlencoded");
    const form = new URLSearchParams(await request?.text());
    expect(Object.fromEntries(form)).toEqual({ To: "+14155550100", From: "+14155550000", Body: sms.text });
  });

  it("prefers a workspace's own Twilio account over the deployment's", async () => {
    const { requests } = mockFetch(201, { sid: "SM1" });
    const config: MessagingEnv = { ...env, TWILIO_ACCOUNT_SID: "ACenv", TWILIO_AUTH_TOKEN: "t", TWILIO_FROM: "+1" };
    await send(config, sms, { twilio: { accountSid: "ACws", authToken: "w", from: "+14155550001" } });
    expect(requests[0]?.url).toContain("/Accounts/ACws/");
  });

  it("texts a phone invitation through the workspace's own Twilio account", async () => {
    const ws = await newWorkspace();
    const settings = await call("PUT", "/v1/settings/sms", {
      key: ws.key,
      body: { provider: "twilio", accountSid: "ACworkspace", authToken: "ws-token", numbers: ["+14155550111"] },
    });
    expect(settings.status).toBe(200);
    const { requests } = mockFetch(201, { sid: "SM9" });
    const res = await call("POST", "/v1/invitations", { key: ws.key, body: { phone: "+14155550122" } });
    expect(res.status).toBe(201);
    expect(requests).toHaveLength(1);
    expect(requests[0]?.url).toBe("https://api.twilio.com/2010-04-01/Accounts/ACworkspace/Messages.json");
    const form = Object.fromEntries(new URLSearchParams(await requests[0]?.text()));
    expect(form).toMatchObject({ To: "+14155550122", From: "+14155550111" });
    expect(form.Body).toMatch(/\/join#token=lmi_/);
    vi.restoreAllMocks();
    // Delivered by Twilio, so nothing waits in the outbox.
    expect(await outboxTo(ws, "+14155550122")).toEqual([]);
  });

  it("sends nothing, through no other account, when the workspace's auth token no longer opens", async () => {
    const ws = await newWorkspace();
    await call("PUT", "/v1/settings/sms", {
      key: ws.key,
      body: { provider: "twilio", accountSid: "ACworkspace", authToken: "ws-token", numbers: ["+14155550111"] },
    });
    // As after SECRETS_KEY changed: the sealed token no longer opens.
    await (await shardDb(ws.id))
      .prepare("update sms_settings set auth_token = 'v1.AAAA.AAAA' where workspace_id = ?")
      .bind(ws.id)
      .run();
    const { spy } = mockFetch(201, { sid: "SM9" });
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const config: MessagingEnv = {
      ...env,
      TWILIO_ACCOUNT_SID: "ACdeploy",
      TWILIO_AUTH_TOKEN: "t",
      TWILIO_FROM: "+14155550999",
    };
    expect(await send(config, { ...sms, workspaceId: ws.id })).toEqual({ delivered: false, provider: "twilio" });
    expect(spy).not.toHaveBeenCalled();
    expect(String(log.mock.calls[0]?.[0])).toContain("can no longer be read");
    vi.restoreAllMocks();
    const outbox = await call("GET", `/v1/outbox?to=${encodeURIComponent(sms.to)}`, { key: ws.key });
    expect(outbox.body.data).toEqual([]);
  });

  it("reports a provider's refusal without throwing or logging the text", async () => {
    mockFetch(422, { message: "invalid" });
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    const config: MessagingEnv = { ...env, RESEND_API_KEY: "re_secret", EMAIL_FROM: "a@acme.test" };
    expect(await send(config, email)).toEqual({ delivered: false, provider: "resend" });
    expect(log).toHaveBeenCalledOnce();
    expect(String(log.mock.calls[0]?.[0])).not.toContain("lmi_x");
  });

  it("writes to the outbox table when no provider is configured", async () => {
    const { spy } = mockFetch(500, {});
    const ws = await newWorkspace();
    const message = { ...email, workspaceId: ws.id, to: "outbox@example.test" };
    expect(await send(env, message)).toEqual({ delivered: true, provider: "outbox" });
    expect(spy).not.toHaveBeenCalled();
    vi.restoreAllMocks();
    const res = await call("GET", "/v1/outbox?to=OUTBOX@example.test", { key: ws.key });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      data: [
        {
          id: expect.any(String),
          channel: "email",
          to: "outbox@example.test",
          subject: email.subject,
          text: email.text,
          linksRemoved: false,
          createdAt: expect.any(String),
        },
      ],
      nextCursor: null,
    });
  });

  it("checks Turnstile responses with siteverify", async () => {
    const { requests } = mockFetch(200, { success: true });
    await verifyTurnstile("ts_secret", "widget-response", "203.0.113.9");
    expect(requests[0]?.url).toBe("https://challenges.cloudflare.com/turnstile/v0/siteverify");
    expect(Object.fromEntries(new URLSearchParams(await requests[0]?.text()))).toEqual({
      secret: "ts_secret",
      response: "widget-response",
      remoteip: "203.0.113.9",
    });
    vi.restoreAllMocks();
    mockFetch(200, { success: false });
    await expect(verifyTurnstile("ts_secret", "bad", undefined)).rejects.toMatchObject({ status: 403 });
    await expect(verifyTurnstile("ts_secret", undefined, undefined)).rejects.toMatchObject({ status: 403 });
  });
});
