import { describe, expect, it } from "vitest";
import { confirmChange, startChange } from "../credentials/helpers";
import { addMember, call, newWorkspace } from "../helpers";
import { latestToken } from "../links";
import {
  callParams,
  configureSms,
  eventTypesAfter,
  newNumber,
  postInbound,
  sid,
  smsParams,
  storedRows,
} from "./twilio";

const history = async (key: string, memberId: string) =>
  (await call("GET", `/v1/members/${memberId}/messages`, { key })).body;

async function smsWorkspace() {
  const ws = await newWorkspace();
  await configureSms(ws);
  return ws;
}

describe("POST /webhooks/twilio/{workspaceId}/sms", () => {
  it("stores an SMS signed by the official twilio package and replies empty TwiML", async () => {
    const ws = await smsWorkspace();
    const from = newNumber();
    const res = await postInbound(ws.id, "sms", smsParams(from, "Hello there & good day"));
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/^text\/xml/);
    expect(res.text).toBe('<?xml version="1.0" encoding="UTF-8"?><Response/>');
    const list = await call("GET", "/v1/members?status=anonymous", { key: ws.key });
    expect(list.body.data).toHaveLength(1);
    const messages = await history(ws.key, list.body.data[0].id);
    expect(messages.data).toEqual([
      expect.objectContaining({ channel: "sms", direction: "inbound", body: "Hello there & good day", from }),
    ]);
  });

  it("verifies the public URL Twilio signed, with or without the default port", async () => {
    const ws = await smsWorkspace();
    const url = `https://members.example.com/webhooks/twilio/${ws.id}/sms`;
    const signedWithPort = `https://members.example.com:443/webhooks/twilio/${ws.id}/sms`;
    const a = await postInbound(ws.id, "sms", smsParams(newNumber(), "a"), { url, signedUrl: signedWithPort });
    const b = await postInbound(ws.id, "sms", smsParams(newNumber(), "b"), {
      url: signedWithPort,
      signedUrl: url,
    });
    expect([a.status, b.status]).toEqual([200, 200]);
    const other = await postInbound(ws.id, "sms", smsParams(newNumber(), "c"), {
      url,
      signedUrl: `https://elsewhere.example.com/webhooks/twilio/${ws.id}/sms`,
    });
    expect(other.status).toBe(403);
  });

  it("answers 403 and stores nothing when the signature is missing, wrong, or for other parameters", async () => {
    const ws = await smsWorkspace();
    const before = await storedRows(ws.id);
    const params = smsParams(newNumber(), "spoofed");
    const missing = await postInbound(ws.id, "sms", params, { signature: null });
    const wrongToken = await postInbound(ws.id, "sms", params, { token: "not-the-auth-token" });
    const garbage = await postInbound(ws.id, "sms", params, { signature: "AAAAAAAAAAAAAAAAAAAAAAAAAAA=" });
    const tampered = await postInbound(ws.id, "sms", params, {
      body: new URLSearchParams({ ...params, Body: "tampered" }).toString(),
    });
    for (const res of [missing, wrongToken, garbage, tampered]) {
      expect(res.status).toBe(403);
      expect(JSON.parse(res.text).error.code).toBe("invalid_signature");
    }
    expect(await storedRows(ws.id)).toEqual(before);
  });

  it("answers 404 for an unknown workspace or one without a provider", async () => {
    const unknown = await postInbound("ws_NOPE", "sms", smsParams(newNumber(), "hi"));
    expect(unknown.status).toBe(404);
    const ws = await newWorkspace();
    const unconfigured = await postInbound(ws.id, "sms", smsParams(newNumber(), "hi"));
    expect(unconfigured.status).toBe(404);
  });

  it("refuses a missing From, unparsable numbers, a missing MessageSid, oversized and non-form bodies, storing nothing", async () => {
    const ws = await smsWorkspace();
    const before = await storedRows(ws.id);
    const { From: _, ...noFrom } = smsParams(newNumber(), "hi");
    const cases = [
      [noFrom, 422, "From"],
      [{ ...smsParams(newNumber(), "hi"), From: "not a number" }, 422, "From"],
      [{ ...smsParams(newNumber(), "hi"), From: "+1 999" }, 422, "From"],
      [{ ...smsParams(newNumber(), "hi"), To: "abc" }, 422, "To"],
      [{ ...smsParams(newNumber(), "hi"), MessageSid: "", SmsSid: "" }, 422, "MessageSid"],
    ] as const;
    for (const [params, status, path] of cases) {
      const res = await postInbound(ws.id, "sms", params as Record<string, string>);
      expect(res.status).toBe(status);
      expect(JSON.parse(res.text).error.issues.map((i: { path: string }) => i.path)).toContain(path);
    }
    const huge = await postInbound(ws.id, "sms", smsParams(newNumber(), "x".repeat(70_000)));
    expect(huge.status).toBe(413);
    const json = await postInbound(ws.id, "sms", smsParams(newNumber(), "hi"), {
      contentType: "application/json",
    });
    expect(json.status).toBe(415);
    expect(await storedRows(ws.id)).toEqual(before);
  });

  it("refuses a streamed body past the limit with 413 and a body without Content-Type with 415, storing nothing", async () => {
    const ws = await smsWorkspace();
    const before = await storedRows(ws.id);
    const huge = smsParams(newNumber(), "y".repeat(200_000));
    const bytes = new TextEncoder().encode(new URLSearchParams(huge).toString());
    // In chunks, with no Content-Length to tell the size in advance.
    const stream = new ReadableStream({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 16_384) controller.enqueue(bytes.slice(i, i + 16_384));
        controller.close();
      },
    });
    const streamed = await postInbound(ws.id, "sms", huge, { body: stream });
    const params = smsParams(newNumber(), "hi");
    // A Blob without a type: the request carries no Content-Type at all.
    const form = new Blob([new URLSearchParams(params).toString()]);
    const untyped = await postInbound(ws.id, "sms", params, { body: form, contentType: null });
    expect([streamed.status, untyped.status]).toEqual([413, 415]);
    expect(await storedRows(ws.id)).toEqual(before);
  });

  it("treats a retried MessageSid as a no-op: one message, one announcement", async () => {
    const ws = await smsWorkspace();
    const params = smsParams(newNumber(), "only once");
    const results = await Promise.all([1, 2, 3, 4, 5].map(() => postInbound(ws.id, "sms", params)));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    const again = await postInbound(ws.id, "sms", params);
    expect(again.status).toBe(200);
    const rows = await storedRows(ws.id);
    expect(rows.messages).toHaveLength(1);
    const types = await eventTypesAfter(ws.id);
    expect(types.filter((t) => t === "message.received")).toHaveLength(1);
    expect(types.filter((t) => t === "member.created")).toHaveLength(2); // the owner and the anonymous member
  });

  it("keeps a retried MessageSid and a call's status callbacks working after the number stops reaching anyone", async () => {
    // numbers: [] so the confirmation SMS goes to the outbox rather than to Twilio.
    const ws = await newWorkspace();
    await configureSms(ws, { numbers: [] });
    const oldPhone = newNumber();
    const pat = await addMember(ws, { name: "Pat", email: "pat@example.test", phone: oldPhone });
    const sms = smsParams(oldPhone, "from the old phone");
    const callSid = sid("CA");
    await postInbound(ws.id, "sms", sms);
    await postInbound(ws.id, "voice", callParams(oldPhone, callSid, "in-progress"));
    expect((await startChange(ws, pat.id, { kind: "phone", value: newNumber() })).status).toBe(202);
    expect((await confirmChange(await latestToken(ws, oldPhone))).status).toBe(200);

    const retry = await postInbound(ws.id, "sms", sms);
    const completed = await postInbound(
      ws.id,
      "voice",
      callParams(oldPhone, callSid, "completed", { CallDuration: "30" }),
    );
    expect([retry.status, completed.status]).toEqual([200, 200]);
    expect((await history(ws.key, pat.id)).data).toEqual([
      expect.objectContaining({ body: "from the old phone" }),
      expect.objectContaining({ providerId: callSid, callStatus: "completed", callDuration: 30 }),
    ]);
    const anonymous = async () => (await call("GET", "/v1/members?status=anonymous", { key: ws.key })).body.data;
    expect(await anonymous()).toEqual([]);
    // A new message from the old number is from someone unknown now.
    await postInbound(ws.id, "sms", smsParams(oldPhone, "new to this number"));
    const [stranger] = await anonymous();
    expect((await history(ws.key, stranger.id)).data).toEqual([
      expect.objectContaining({ body: "new to this number" }),
    ]);
  });

  it("treats an SMS reusing an earlier call's SID as a no-op", async () => {
    const ws = await smsWorkspace();
    const shared = sid("CA");
    await postInbound(ws.id, "voice", callParams(newNumber(), shared, "ringing"));
    const before = await storedRows(ws.id);
    const res = await postInbound(ws.id, "sms", smsParams(newNumber(), "same SID", shared));
    expect(res.status).toBe(200);
    expect(await storedRows(ws.id)).toEqual(before);
  });

  it("puts a message from a member's phone on that member, creating no one", async () => {
    const ws = await smsWorkspace();
    const phone = newNumber();
    const grace = await addMember(ws, { name: "Grace Hopper", phone });
    const res = await postInbound(ws.id, "sms", smsParams(phone, "it's Grace"));
    expect(res.status).toBe(200);
    expect((await history(ws.key, grace.id)).data.map((m: { body: string }) => m.body)).toEqual(["it's Grace"]);
    expect((await call("GET", "/v1/members?status=anonymous", { key: ws.key })).body.data).toEqual([]);
  });
});

describe("POST /webhooks/twilio/{workspaceId}/check", () => {
  it("answers a correctly signed request with empty TwiML and stores nothing; a bad signature 403", async () => {
    const ws = await smsWorkspace();
    const before = await storedRows(ws.id);
    const params = smsParams(newNumber(), "just checking");
    const url = `http://localhost/webhooks/twilio/${ws.id}/check`;
    expect((await postInbound(ws.id, "sms", params, { url })).status).toBe(200);
    expect((await postInbound(ws.id, "sms", params, { url, token: "wrong-token" })).status).toBe(403);
    expect(await storedRows(ws.id)).toEqual(before);
  });
});

describe("POST /webhooks/twilio/{workspaceId}/voice", () => {
  it("logs a call once and lets its status callbacks update that same call", async () => {
    const ws = await smsWorkspace();
    const from = newNumber();
    const callSid = sid("CA");
    const ringing = await postInbound(ws.id, "voice", callParams(from, callSid, "ringing"));
    expect(ringing.status).toBe(200);
    expect(ringing.text).toContain("<Say>");
    for (const status of ["in-progress", "completed", "completed"]) {
      const res = await postInbound(
        ws.id,
        "voice",
        callParams(from, callSid, status, status === "completed" ? { CallDuration: "42" } : {}),
      );
      expect(res.status).toBe(200);
      if (status === "completed") expect(res.text).toBe('<?xml version="1.0" encoding="UTF-8"?><Response/>');
    }
    // A late, out-of-order callback does not take a finished call back.
    await postInbound(ws.id, "voice", callParams(from, callSid, "in-progress"));
    const [member] = (await call("GET", "/v1/members?status=anonymous", { key: ws.key })).body.data;
    const calls = (await history(ws.key, member.id)).data;
    expect(calls).toEqual([
      expect.objectContaining({
        channel: "voice",
        providerId: callSid,
        callStatus: "completed",
        callDuration: 42,
        body: null,
      }),
    ]);
    const types = await eventTypesAfter(ws.id);
    expect(types.filter((t) => t === "message.received")).toHaveLength(1);
    expect(types.filter((t) => t === "message.updated")).toHaveLength(2);
  });

  it("answers 403 to an unsigned call and 404 for an unknown workspace, storing nothing", async () => {
    const ws = await smsWorkspace();
    const before = await storedRows(ws.id);
    const params = callParams(newNumber(), sid("CA"), "ringing");
    const unsigned = await postInbound(ws.id, "voice", params, { signature: null });
    const unknown = await postInbound("ws_NOPE", "voice", params);
    expect([unsigned.status, unknown.status]).toEqual([403, 404]);
    expect(JSON.parse(unsigned.text).error.code).toBe("invalid_signature");
    expect(JSON.parse(unknown.text).error.code).toBe("not_found");
    expect(await storedRows(ws.id)).toEqual(before);
  });

  it("refuses a call without CallSid or with an unparsable caller", async () => {
    const ws = await smsWorkspace();
    const { CallSid: _, ...noSid } = callParams(newNumber(), sid("CA"), "ringing");
    expect((await postInbound(ws.id, "voice", noSid)).status).toBe(422);
    const anonymousCaller = callParams("anonymous", sid("CA"), "ringing");
    expect((await postInbound(ws.id, "voice", anonymousCaller)).status).toBe(422);
    expect((await storedRows(ws.id)).messages).toEqual([]);
  });
});
