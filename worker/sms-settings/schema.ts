import * as v from "valibot";
import { Timestamp } from "../lib/fields";
import { normalizePhone } from "../members/phone";
import { SMS_PROVIDERS } from "./table";

/** A phone number, normalized to E.164 (422 when it is not a valid number). */
const E164 = v.pipe(
  v.string(),
  v.trim(),
  v.maxLength(32),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    const phone = normalizePhone(dataset.value);
    if (phone) return phone.e164;
    addIssue({ message: "Enter a valid phone number in international format, e.g. +14155550100." });
    return NEVER;
  }),
);

/** Every refusal of the auth token says this: valibot's own messages quote what was received, a secret. */
const AUTH_TOKEN_RULE = "The auth token is a string of 8 to 256 characters.";

export const PutSmsSettings = v.strictObject({
  provider: v.picklist(SMS_PROVIDERS),
  accountSid: v.pipe(v.string(), v.trim(), v.regex(/^AC\w{1,62}$/, "A Twilio account SID starts with AC.")),
  /** Optional when settings exist: the stored token is kept (it is never shown again). */
  authToken: v.optional(
    v.pipe(v.string(AUTH_TOKEN_RULE), v.trim(), v.minLength(8, AUTH_TOKEN_RULE), v.maxLength(256, AUTH_TOKEN_RULE)),
  ),
  numbers: v.pipe(
    v.array(E164),
    v.maxLength(100),
    v.transform((numbers) => [...new Set(numbers)]),
  ),
  anonymousExpiryDays: v.optional(v.nullable(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(3650))), null),
});

export const SmsSettingsJson = v.object({
  provider: v.picklist(SMS_PROVIDERS),
  accountSid: v.string(),
  authTokenLast4: v.pipe(
    v.string(),
    v.description(
      "The auth token is never returned in full; empty when the stored token can no longer be read (the server's SECRETS_KEY changed): save it again.",
    ),
  ),
  numbers: v.array(v.string()),
  anonymousExpiryDays: v.nullable(v.number()),
  /**
   * The URLs to paste into the provider's console, which calls them "webhooks" (Twilio: "A message
   * comes in"): the inbound side, worker/provider. A field of the contract, so it keeps that name.
   */
  webhooks: v.object({ sms: v.string(), voice: v.string() }),
  updatedAt: Timestamp,
});

export type SmsSettings = v.InferOutput<typeof SmsSettingsJson>;
