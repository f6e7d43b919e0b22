import { ApiError } from "../lib/errors";
import { seal, unseal } from "../lib/sealed";

/** What a workspace's auth token is sealed to: it opens only in its own workspace's row. */
const context = (workspaceId: string) => `sms-settings/${workspaceId}`;

function sealingSecret(env: Env): string {
  if (env.SECRETS_KEY) return env.SECRETS_KEY;
  throw new ApiError(503, "not_configured", "The server has no SECRETS_KEY to keep provider credentials with.");
}

/** The auth token as stored (../lib/sealed.ts). */
export const sealAuthToken = (env: Env, workspaceId: string, token: string) =>
  seal(sealingSecret(env), context(workspaceId), token);

/** The stored auth token in clear; null when it does not open (SECRETS_KEY changed, or the row was tampered with). */
export const authTokenOf = (env: Env, row: { workspaceId: string; authToken: string }) =>
  unseal(sealingSecret(env), context(row.workspaceId), row.authToken);
