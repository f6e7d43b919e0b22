import { eq, sql } from "drizzle-orm";
import { type Caller, router } from "../app";
import { route } from "../auth/route";
import { appendEvent, now } from "../events/append";
import type { Db } from "../lib/db";
import { ApiError, invalidField } from "../lib/errors";
import { body } from "../lib/validate";
import { refuseConditioned } from "../reach/reach";
import { MANAGER } from "../roles/builtin";
import { missingScopes } from "../roles/scopes";
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

/**
 * The provider carries every SMS the workspace sends: sign-in and invitation links and
 * credential-change links, for every member. Whoever repoints it reads them all, so
 * changing it takes the manager level: every resource's admin scope, and no role
 * condition (the links go to members beyond any condition). Reading the settings stays
 * at workspace:admin: they hold no message and no secret (the auth token is write-only).
 */
const MANAGER_LEVEL =
  "Changing the provider needs every admin scope (the manager level: 403 forbidden) and a role without a condition (403 forbidden_by_condition): it carries every SMS the workspace sends, sign-in and invitation links included.";

async function assertManagerLevel(db: Db, caller: Caller) {
  const missing = missingScopes(caller.scopes, MANAGER.scopes);
  if (missing.length > 0) {
    throw new ApiError(
      403,
      "forbidden",
      `Changing the SMS provider needs every admin scope (the manager level); you lack ${missing.join(", ")}.`,
    );
  }
  await refuseConditioned(
    db,
    caller,
    "A caller whose role has a condition may not change the SMS provider: it carries the messages of members beyond any condition.",
  );
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
      description:
        "Read with workspace:admin: the settings hold no message and no secret (only the auth token's last four characters).",
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
      description: MANAGER_LEVEL,
      responses: {
        200: settings,
        403: {
          description:
            "forbidden: the caller lacks an admin scope (every one is needed); forbidden_by_condition: the caller's role has a condition",
        },
        ...unconfigured,
      },
    }),
    body(PutSmsSettings),
    async (c) => {
      const db = c.var.db;
      const ws = c.var.caller.workspaceId;
      await assertManagerLevel(db, c.var.caller);
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
