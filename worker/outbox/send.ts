import { eq } from "drizzle-orm";
import { now } from "../events/append";
import { database } from "../lib/db";
import { errorReason } from "../lib/errors";
import { newId } from "../lib/ids";
import { shardOf } from "../shards/directory";
import { smsSettings } from "../sms-settings/table";
import { authTokenOf } from "../sms-settings/token";
import { type OutboxChannel, outbox } from "./table";

/** One outgoing message. The text may carry a link with a secret: never log it. */
export type Message = {
  /**
   * Optional idempotency key: the outbox stores one message per id, and Resend sends one
   * per Idempotency-Key (https://resend.com/docs/dashboard/emails/idempotency-keys).
   */
  id?: string;
  workspaceId: string;
  /** The member the message is for, if any: the outbox shows its links only to callers who outrank them. */
  memberId?: string | null;
  channel: OutboxChannel;
  /** A lowercased email address or an E.164 phone number. */
  to: string;
  subject: string;
  text: string;
};

/** Twilio account used for SMS: a workspace's own settings, or the deployment's (env). */
export type TwilioConfig = { accountSid: string; authToken: string; from: string };

/**
 * Optional secrets (`wrangler secret put ...`): none is required, so none is declared in
 * wrangler.toml and `Env` does not list them. Unset means the outbox table.
 */
export type MessagingEnv = Env &
  Partial<{
    RESEND_API_KEY: string;
    /** e.g. "Live Members <no-reply@example.com>", a sender verified with Resend. */
    EMAIL_FROM: string;
    TWILIO_ACCOUNT_SID: string;
    TWILIO_AUTH_TOKEN: string;
    TWILIO_FROM: string;
  }>;

export type Provider = { name: string; deliver(message: Message): Promise<void> };

/** A provider answered with an error; the message (and its link) is not in it. */
export class DeliveryError extends Error {
  constructor(
    readonly provider: string,
    readonly status: number,
  ) {
    super(`${provider} refused the message (HTTP ${status})`);
  }
}

const RESEND_URL = "https://api.resend.com/emails";
/**
 * A provider that does not answer in time counts as a failure, so a retry (an action's
 * run, through the queue) is not held up behind it; Resend dedupes the retry by its key.
 */
const PROVIDER_TIMEOUT_MS = 10_000;

/** Resend's REST API: https://resend.com/docs/api-reference/emails/send-email */
export function resend(apiKey: string, from: string): Provider {
  return {
    name: "resend",
    async deliver(message) {
      const response = await fetch(RESEND_URL, {
        method: "POST",
        headers: {
          Authorization: `Bearer ${apiKey}`,
          "Content-Type": "application/json",
          ...(message.id ? { "Idempotency-Key": message.id } : {}),
        },
        body: JSON.stringify({ from, to: [message.to], subject: message.subject, text: message.text }),
        signal: AbortSignal.timeout(PROVIDER_TIMEOUT_MS),
      });
      if (!response.ok) throw new DeliveryError("resend", response.status);
    },
  };
}

/** Twilio's Messages resource: https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource */
export function twilio(config: TwilioConfig): Provider {
  return {
    name: "twilio",
    async deliver(message) {
      const url = `https://api.twilio.com/2010-04-01/Accounts/${encodeURIComponent(config.accountSid)}/Messages.json`;
      const response = await fetch(url, {
        method: "POST",
        headers: {
          Authorization: `Basic ${btoa(`${config.accountSid}:${config.authToken}`)}`,
          "Content-Type": "application/x-www-form-urlencoded",
        },
        body: new URLSearchParams({ To: message.to, From: config.from, Body: message.text }),
        signal: AbortSignal.timeout(PROVIDER_TIMEOUT_MS),
      });
      if (!response.ok) throw new DeliveryError("twilio", response.status);
    },
  };
}

/** The local default: the message is stored on its workspace's shard, and `GET /v1/outbox` shows it. */
export function outboxTable(env: Env): Provider {
  return {
    name: "outbox",
    async deliver(message) {
      const shard = await shardOf(env, message.workspaceId);
      if (!shard) throw new Error("the message's workspace is in no shard");
      await database(shard.d1)
        .insert(outbox)
        .values({
          id: message.id ?? newId("msg"),
          workspaceId: message.workspaceId,
          channel: message.channel,
          to: message.to,
          memberId: message.memberId ?? null,
          subject: message.subject,
          text: message.text,
          createdAt: now(),
        })
        .onConflictDoNothing();
    },
  };
}

function envTwilio(env: MessagingEnv): TwilioConfig | undefined {
  const { TWILIO_ACCOUNT_SID: accountSid, TWILIO_AUTH_TOKEN: authToken, TWILIO_FROM: from } = env;
  return accountSid && authToken && from ? { accountSid, authToken, from } : undefined;
}

/**
 * The workspace's own Twilio account (`PUT /v1/settings/sms`), sending from its first
 * number; null when it has one whose auth token no longer opens (../sms-settings/token.ts):
 * its texts must not go out through the deployment's account instead.
 */
async function workspaceTwilio(env: Env, workspaceId: string): Promise<TwilioConfig | null | undefined> {
  const shard = await shardOf(env, workspaceId);
  if (!shard) return undefined;
  const [row] = await database(shard.d1).select().from(smsSettings).where(eq(smsSettings.workspaceId, workspaceId));
  const from = row?.numbers[0];
  if (row?.provider !== "twilio" || !from) return undefined;
  const authToken = await authTokenOf(env, row);
  return authToken ? { accountSid: row.accountSid, authToken, from } : null;
}

/** The provider configuration chooses: Resend for email with RESEND_API_KEY, Twilio for SMS with an account. */
export function providerFor(env: MessagingEnv, channel: OutboxChannel, workspaceTwilio?: TwilioConfig): Provider {
  if (channel === "email" && env.RESEND_API_KEY && env.EMAIL_FROM) return resend(env.RESEND_API_KEY, env.EMAIL_FROM);
  const sms = channel === "sms" ? (workspaceTwilio ?? envTwilio(env)) : undefined;
  if (sms) return twilio(sms);
  return outboxTable(env);
}

/**
 * Sends a message through the configured provider. Delivery happens after the change
 * that caused it committed; a failure is logged (without the text) and returned, so the
 * change stands and the admin can resend.
 */
export async function send(
  env: MessagingEnv,
  message: Message,
  options: { twilio?: TwilioConfig } = {},
): Promise<{ delivered: boolean; provider: string }> {
  const twilioAccount =
    options.twilio ?? (message.channel === "sms" ? await workspaceTwilio(env, message.workspaceId) : undefined);
  if (twilioAccount === null) {
    const reason = "the workspace's Twilio auth token can no longer be read; save it again in its SMS settings";
    console.error(JSON.stringify({ delivery: "failed", provider: "twilio", channel: message.channel, reason }));
    return { delivered: false, provider: "twilio" };
  }
  const provider = providerFor(env, message.channel, twilioAccount);
  try {
    await provider.deliver(message);
    return { delivered: true, provider: provider.name };
  } catch (err) {
    const reason = err instanceof DeliveryError ? err.message : errorReason(err);
    console.error(JSON.stringify({ delivery: "failed", provider: provider.name, channel: message.channel, reason }));
    return { delivered: false, provider: provider.name };
  }
}
