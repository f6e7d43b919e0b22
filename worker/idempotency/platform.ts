import type { Context } from "hono";
import type { AppEnv } from "../app";
import { database } from "../lib/db";
import { ApiError } from "../lib/errors";
import { IDEMPOTENCY_HEADER, type Scope } from "./keys";

/**
 * The platform token's Idempotency-Keys live in the directory database, in its own
 * `idempotency_keys` table (migrations/directory): POST /v1/workspaces has no workspace,
 * hence no shard, to keep them on. One credential, `platform`, under the workspace id "".
 */
export const platformScope = (c: Context<AppEnv>): Scope => ({
  db: database(c.env.DIRECTORY),
  workspaceId: "",
  credential: "platform",
});

/**
 * A public POST (sign-in, accepting an invitation, confirming a change, a join request)
 * refuses Idempotency-Key: with no credential to scope the key to, a replay would hand one
 * visitor's answer (a session cookie, a sign-in) to whoever sent the same key and body.
 * So does a streamed import upload (its body is read once, as it streams, after the request
 * would have to be compared). Refused rather than ignored: a client that sent the key
 * believes a retry is safe.
 */
export function refuseIdempotencyKey(c: Context<AppEnv>, why: string) {
  if (c.req.method === "POST" && c.req.header(IDEMPOTENCY_HEADER) !== undefined) {
    throw new ApiError(400, "idempotency_not_supported", why);
  }
}
