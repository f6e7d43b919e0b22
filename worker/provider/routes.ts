import { eq } from "drizzle-orm";
import type { Context } from "hono";
import { parsePhoneNumberFromString } from "libphonenumber-js/min";
import { ingest } from "../anonymous/ingest";
import type { InboundChannel } from "../anonymous/table";
import { type AppEnv, router } from "../app";
import { route } from "../auth/route";
import { limitBody } from "../lib/body-limit";
import { ApiError, type Issue } from "../lib/errors";
import { useShard } from "../shards/context";
import { shardOf } from "../shards/directory";
import { smsSettings } from "../sms-settings/table";
import { authTokenOf } from "../sms-settings/token";
import { type FormParams, formParams, verifyTwilioSignature } from "./signature";
import { EMPTY_RESPONSE, VOICE_GREETING } from "./twiml";

/** Twilio's request bodies are a few KiB (an SMS body is at most 1,600 characters). */
const MAX_BODY = 64 * 1024;
const tags = ["Provider"];
const twiml = { description: "TwiML", contentType: "text/xml" };
const responses = {
  200: twiml,
  403: { description: "Missing or wrong X-Twilio-Signature: nothing stored" },
  404: { description: "No such workspace, or no SMS provider configured" },
};

/** `/webhooks/twilio/{workspaceId}/sms|voice`: form posts signed with the workspace's auth token. */
export const twilioRoutes = router()
  .use("*", limitBody(MAX_BODY))
  .post(
    "/:workspaceId/sms",
    route({ summary: "Inbound SMS from the provider (Twilio, form-encoded)", tags, auth: "public", responses }),
    (c) => receive(c, "sms"),
  )
  .post(
    "/:workspaceId/voice",
    route({
      summary: "Inbound call and its status callbacks from the provider (Twilio)",
      tags,
      auth: "public",
      responses,
    }),
    (c) => receive(c, "voice"),
  )
  .post(
    "/:workspaceId/check",
    route({
      summary: "Check a signed request against the workspace's settings; stores nothing",
      tags,
      auth: "public",
      responses,
    }),
    async (c) => {
      await verified(c);
      return twimlReply(c, EMPTY_RESPONSE);
    },
  );

/** The form of a request signed with the workspace's auth token; 404, 415 or 403 otherwise. */
async function verified(c: Context<AppEnv>) {
  const workspaceId = c.req.param("workspaceId") ?? "";
  const shard = await shardOf(c.env, workspaceId);
  if (!shard) throw new ApiError(404, "not_found", "No such workspace, or it has no SMS provider.");
  useShard(c, shard);
  const [settings] = await c.var.db
    .select({ workspaceId: smsSettings.workspaceId, authToken: smsSettings.authToken })
    .from(smsSettings)
    .where(eq(smsSettings.workspaceId, workspaceId));
  if (!settings) throw new ApiError(404, "not_found", "No such workspace, or it has no SMS provider.");
  const type = (c.req.header("Content-Type") ?? "").split(";")[0]?.trim().toLowerCase();
  if (type !== "application/x-www-form-urlencoded") {
    throw new ApiError(415, "unsupported_media_type", "Send the body as application/x-www-form-urlencoded.");
  }
  // Read as bytes: workerd warns when a form body is read with text().
  const params = formParams(new TextDecoder().decode(await c.req.arrayBuffer()));
  const signature = c.req.header("X-Twilio-Signature");
  const authToken = await authTokenOf(c.env, settings);
  if (!authToken || !(await verifyTwilioSignature(authToken, signature, c.req.url, params))) {
    throw new ApiError(403, "invalid_signature", "The X-Twilio-Signature header is missing or wrong.");
  }
  return { workspaceId, params };
}

const twimlReply = (c: Context<AppEnv>, twiml: string) =>
  c.body(twiml, 200, { "Content-Type": "text/xml; charset=utf-8" });

async function receive(c: Context<AppEnv>, channel: InboundChannel) {
  const { workspaceId, params } = await verified(c);
  const fields = readFields(params, channel);
  const { stored } = await ingest(c.var.db, { workspaceId, channel, ...fields });
  if (stored) {
    c.set("changedWorkspace", workspaceId);
    // Texts and calls arrive in streams, often while nobody watches: see pokeUnlessQuiet.
    c.set("pokeMayWait", true);
  }
  const greet =
    channel === "voice" && (fields.callStatus === null || ["ringing", "in-progress"].includes(fields.callStatus));
  return twimlReply(c, greet ? VOICE_GREETING : EMPTY_RESPONSE);
}

/** The fields we keep, validated: 422 naming each bad one, before anything is stored. */
function readFields(params: FormParams, channel: InboundChannel) {
  const one = (name: string) => params.get(name)?.[0]?.trim() || undefined;
  const issues: Issue[] = [];
  const sidName = channel === "sms" ? "MessageSid" : "CallSid";
  const providerId = channel === "sms" ? (one("MessageSid") ?? one("SmsSid")) : one("CallSid");
  if (!providerId || !/^\w{2,64}$/.test(providerId))
    issues.push({ path: sidName, message: `A valid ${sidName} is required.` });
  const fromText = one("From");
  const from = fromText ? parsePhoneNumberFromString(fromText) : undefined;
  if (!fromText) issues.push({ path: "From", message: "From is required." });
  else if (!from?.isValid()) issues.push({ path: "From", message: "From is not a valid phone number." });
  const toText = one("To");
  const to = toText ? parsePhoneNumberFromString(toText) : undefined;
  if (toText && !to?.isValid()) issues.push({ path: "To", message: "To is not a valid phone number." });
  const durationText = one("CallDuration");
  if (durationText !== undefined && !/^\d{1,9}$/.test(durationText)) {
    issues.push({ path: "CallDuration", message: "CallDuration is a number of seconds." });
  }
  const callStatus = channel === "voice" ? (one("CallStatus") ?? null) : null;
  if (callStatus !== null && !/^[a-z-]{1,32}$/.test(callStatus))
    issues.push({ path: "CallStatus", message: "Unknown CallStatus." });
  if (issues.length > 0 || !providerId || !from) {
    throw new ApiError(422, "validation_failed", "The provider's request has invalid fields.", { issues });
  }
  const body =
    channel === "sms" ? (params.get("Body")?.[0] ?? "") : (one("SpeechResult") ?? one("TranscriptionText") ?? null);
  return {
    providerId,
    from: { e164: from.number, national: from.nationalNumber, display: from.formatInternational() },
    to: to?.number ?? null,
    body,
    callStatus,
    callDuration: durationText === undefined ? null : Number(durationText),
  };
}
