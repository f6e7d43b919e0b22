import { exports } from "cloudflare:workers";
// The official helper library signs test requests exactly as Twilio does.
import { getExpectedTwilioSignature, validateRequest } from "twilio/lib/webhooks/webhooks";
import { call, type Workspace } from "../helpers";

const worker = (exports as unknown as { default: Fetcher }).default;

export { getExpectedTwilioSignature, validateRequest };

export const AUTH_TOKEN = "9d2f7c4e1b8a6035d9e2c7f4a1b8e630";
export const ACCOUNT_SID = "AC0123456789abcdef0123456789abcdef";
export const WORKSPACE_NUMBER = "+14155550100";

/** Configures the workspace's Twilio account (PUT /v1/settings/sms) with AUTH_TOKEN. */
export async function configureSms(ws: Workspace, extra: Record<string, unknown> = {}) {
  const res = await call("PUT", "/v1/settings/sms", {
    key: ws.key,
    body: { provider: "twilio", accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, numbers: [WORKSPACE_NUMBER], ...extra },
  });
  if (res.status !== 200) throw new Error(`settings failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

let sequence = 0;
/** A valid, unused US number (libphonenumber checks area code and exchange). */
export function newNumber() {
  sequence += 1;
  const n = (Date.now() % 1_000_000) * 1000 + sequence;
  const exchange = 200 + (Math.floor(n / 10_000) % 800);
  return `+1415${exchange}${String(n % 10_000).padStart(4, "0")}`;
}

/** A Twilio-style SID: two letters and 32 hex digits. */
export const sid = (prefix: "SM" | "CA") =>
  prefix + [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join("");

type PostOptions = {
  /** Signature to send instead of the real one; null sends no header. */
  signature?: string | null;
  /** Key to sign with (default AUTH_TOKEN). */
  token?: string;
  /** The URL Twilio signs (default: the URL requested). */
  signedUrl?: string;
  /** The URL requested (default http://localhost/webhooks/twilio/{ws}/{channel}). */
  url?: string;
  /** The body to send instead of the signed form (a stream has no Content-Length). */
  body?: BodyInit;
  /** Content-Type (default the form's); null sends none. */
  contentType?: string | null;
};

/** Posts a form as Twilio (the provider) does, signed by the twilio package unless told otherwise. */
export async function postInbound(
  workspaceId: string,
  channel: "sms" | "voice",
  params: Record<string, string>,
  options: PostOptions = {},
) {
  const url = options.url ?? `http://localhost/webhooks/twilio/${workspaceId}/${channel}`;
  const signature =
    options.signature === undefined
      ? getExpectedTwilioSignature(options.token ?? AUTH_TOKEN, options.signedUrl ?? url, params)
      : options.signature;
  const headers = new Headers();
  if (options.contentType !== null) {
    headers.set("Content-Type", options.contentType ?? "application/x-www-form-urlencoded");
  }
  if (signature !== null) headers.set("X-Twilio-Signature", signature);
  const response = await worker.fetch(
    new Request(url, { method: "POST", headers, body: options.body ?? new URLSearchParams(params).toString() }),
  );
  return { status: response.status, text: await response.text(), headers: response.headers };
}

/** An inbound SMS as Twilio posts it. */
export const smsParams = (from: string, body: string, messageSid = sid("SM")) => ({
  MessageSid: messageSid,
  SmsSid: messageSid,
  AccountSid: ACCOUNT_SID,
  From: from,
  To: WORKSPACE_NUMBER,
  Body: body,
  NumMedia: "0",
  ApiVersion: "2010-04-01",
});

/** An inbound call (or its status callback) as Twilio posts it. */
export const callParams = (from: string, callSid: string, callStatus: string, extra: Record<string, string> = {}) => ({
  CallSid: callSid,
  AccountSid: ACCOUNT_SID,
  From: from,
  To: WORKSPACE_NUMBER,
  CallStatus: callStatus,
  Direction: "inbound",
  ApiVersion: "2010-04-01",
  ...extra,
});

const INBOUND_TABLES = ["members", "messages", "member_identities", "anonymous_resolutions", "events"] as const;

/** Every row an inbound message could write for the workspace: equal snapshots mean nothing was stored. */
export async function storedRows(workspaceId: string) {
  const { shardDb } = await import("../db");
  const db = await shardDb(workspaceId);
  const results = await db.batch<Record<string, unknown>>(
    INBOUND_TABLES.map((table) =>
      db.prepare(`select * from ${table} where workspace_id = ? order by 1, 2`).bind(workspaceId),
    ),
  );
  const rows = (i: number) => results[i]?.results ?? [];
  return {
    members: rows(0),
    messages: rows(1),
    member_identities: rows(2),
    anonymous_resolutions: rows(3),
    events: rows(4),
  };
}

/** The event types of the workspace's log after `afterSeq`, in order. */
export async function eventTypesAfter(workspaceId: string, afterSeq = 0) {
  const { shardDb } = await import("../db");
  const { results } = await (await shardDb(workspaceId))
    .prepare("select type from events where workspace_id = ? and seq > ? order by seq")
    .bind(workspaceId, afterSeq)
    .all<{ type: string }>();
  return results.map((r) => r.type);
}
