import { ApiError } from "../lib/errors";
import { isSealed, seal, unseal } from "../lib/sealed";

/** What a workspace's auth token is sealed to: it opens only in its own workspace's row. */
const context = (workspaceId: string) => `sms-settings/${workspaceId}`;

/** Shorter, it is no random key (README: `openssl rand -base64 32`), and treated as none. */
const MIN_KEY_LENGTH = 32;
const keyOf = (env: Env) => (env.SECRETS_KEY && env.SECRETS_KEY.length >= MIN_KEY_LENGTH ? env.SECRETS_KEY : undefined);

/** The server's key for sealing: a write of settings asks for it before it writes anything. */
export function requireSecretsKey(env: Env): string {
  const key = keyOf(env);
  if (key) return key;
  throw new ApiError(
    503,
    "not_configured",
    `The server has no SECRETS_KEY (of at least ${MIN_KEY_LENGTH} characters) to keep provider credentials with.`,
  );
}

/** The auth token as stored (../lib/sealed.ts). */
export const sealAuthToken = (env: Env, workspaceId: string, token: string) =>
  seal(requireSecretsKey(env), context(workspaceId), token);

/**
 * The stored auth token in clear. A token stored before sealing began reads as itself (the
 * next save of the settings seals it). Null, and a warning in the log (never the token),
 * when it does not open: no SECRETS_KEY, another one than sealed it, or an altered row.
 */
export async function authTokenOf(env: Env, row: { workspaceId: string; authToken: string }): Promise<string | null> {
  if (!isSealed(row.authToken)) return row.authToken;
  const key = keyOf(env);
  const opened = key ? await unseal(key, context(row.workspaceId), row.authToken) : null;
  if (opened === null) {
    const why = key ? "does not open with SECRETS_KEY" : "no SECRETS_KEY";
    console.warn(JSON.stringify({ smsSettings: row.workspaceId, authToken: why }));
  }
  return opened;
}
