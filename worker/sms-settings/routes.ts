import { eq, sql } from "drizzle-orm";
import { appendEvent, now } from "../events/append";
import { router } from "../lib/app";
import type { Db } from "../lib/db";
import { ApiError, invalidField } from "../lib/errors";
import { route } from "../lib/route";
import { body } from "../lib/validate";
import { PutSmsSettings, type SmsSettings, SmsSettingsJson } from "./schema";
import { type SmsSettingsRow, smsSettings } from "./table";
import { authTokenOf, requireSecretsKey, sealAuthToken } from "./token";

const tags = ["Settings"];
const settings = { description: "The SMS/voice provider settings (the auth token masked)", schema: SmsSettingsJson };
/** The token is sealed with the server's SECRETS_KEY (./token.ts): a server without one answers this. */
const unconfigured = { 503: { description: "not_configured: the server has no SECRETS_KEY" } };

/** Settings as shown to admins: the auth token never leaves in full (`last4`: empty when it no longer opens). */
function settingsJson(row: SmsSettingsRow, last4: string, origin: string): SmsSettings {
  const base = `${origin}/webhooks/${row.provider}/${row.workspaceId}`;
  return {
    provider: row.provider,
    accountSid: row.accountSid,
    authTokenLast4: last4,
    numbers: row.numbers,
    anonymousExpiryDays: row.anonymousExpiryDays,
    webhooks: { sms: `${base}/sms`, voice: `${base}/voice` },
    updatedAt: row.updatedAt,
  };
}

async function loadSettings(db: Db, workspaceId: string) {
  const [row] = await db.select().from(smsSettings).where(eq(smsSettings.workspaceId, workspaceId));
  return row;
}

export const smsSettingsRoutes = router()
  .get(
    "/",
    route({
      summary: "The SMS/voice provider settings",
      tags,
      auth: "workspace:admin",
      responses: { 200: settings },
    }),
    async (c) => {
      const row = await loadSettings(c.var.db, c.var.caller.workspaceId);
      if (!row) throw new ApiError(404, "not_found", "No SMS provider is configured.");
      const last4 = (await authTokenOf(c.env, row))?.slice(-4) ?? "";
      return c.json(settingsJson(row, last4, new URL(c.req.url).origin));
    },
  )
  .put(
    "/",
    route({
      summary: "Configure the SMS/voice provider (Twilio); the auth token is write-only",
      tags,
      auth: "workspace:admin",
      responses: { 200: settings, ...unconfigured },
    }),
    body(PutSmsSettings),
    async (c) => {
      const db = c.var.db;
      const ws = c.var.caller.workspaceId;
      const input = c.req.valid("json");
      requireSecretsKey(c.env);
      // Stored sealed (./token.ts); a PUT without one keeps the stored token, sealed anew.
      const stored = input.authToken === undefined ? await loadSettings(db, ws) : undefined;
      const token = input.authToken ?? (stored ? await authTokenOf(c.env, stored) : null);
      if (!token) {
        throw invalidField(
          "authToken",
          stored
            ? "The stored auth token can no longer be read (the server's SECRETS_KEY changed): send it again."
            : "The auth token is required the first time.",
        );
      }
      const authToken = await sealAuthToken(c.env, ws, token);
      const row: SmsSettingsRow = { workspaceId: ws, ...input, authToken, updatedAt: now() };
      const { authToken: _secret, ...update } = row;
      const [, , [saved]] = await db.batch([
        db
          .insert(smsSettings)
          .values(row)
          .onConflictDoUpdate({ target: smsSettings.workspaceId, set: { ...update, authToken } }),
        // The event names what changed, never the token itself.
        appendEvent(
          db,
          ws,
          "settings.sms_updated",
          sql`json_object('provider', ${row.provider}, 'accountSid', ${row.accountSid},
            'numbers', json(${JSON.stringify(row.numbers)}), 'anonymousExpiryDays', ${row.anonymousExpiryDays},
            'authTokenChanged', json(${input.authToken === undefined ? "false" : "true"}))`,
        ),
        db.select().from(smsSettings).where(eq(smsSettings.workspaceId, ws)),
      ]);
      if (!saved) throw new Error("settings vanished inside their own batch");
      return c.json(settingsJson(saved, token.slice(-4), new URL(c.req.url).origin));
    },
  );
