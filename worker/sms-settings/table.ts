import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const SMS_PROVIDERS = ["twilio"] as const;
export type SmsProvider = (typeof SMS_PROVIDERS)[number];

/**
 * A workspace's SMS/voice provider account. `authToken` keys the signatures of its inbound requests
 * (HMAC needs the raw secret, so it cannot be stored hashed): it is stored sealed
 * (./token.ts), never returned in full nor written to an event.
 */
export const smsSettings = sqliteTable("sms_settings", {
  workspaceId: text().primaryKey(),
  provider: text().$type<SmsProvider>().notNull(),
  accountSid: text().notNull(),
  authToken: text().notNull(),
  numbers: text({ mode: "json" }).$type<string[]>().notNull(),
  /** Pending anonymous members with no message for this many days expire; null: never. */
  anonymousExpiryDays: integer(),
  updatedAt: text().notNull(),
});

export type SmsSettingsRow = typeof smsSettings.$inferSelect;
