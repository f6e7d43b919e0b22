import { ApiError } from "../lib/errors";
import { tokenShape } from "../shards/tokens";

/**
 * The prefix of each credential's token: `<prefix>_<workspace ULID>.<secret>`, or, issued
 * before tokens carried their workspace, `<prefix>_<secret>` (worker/shards/tokens.ts).
 */
export const TOKEN_PREFIX = {
  apiKey: "lmk",
  session: "lmc",
  liveTicket: "lt",
  invitation: "lmi",
  signIn: "lms",
  credentialChange: "lmx",
} as const;

const shapes = {
  invitation: tokenShape(TOKEN_PREFIX.invitation),
  signIn: tokenShape(TOKEN_PREFIX.signIn),
  credentialChange: tokenShape(TOKEN_PREFIX.credentialChange),
} as const;

/**
 * The 429 of a route redeeming a link's token: limited per client IP and per token
 * (../lib/rate-limit.ts `limitClientAndTarget`).
 */
export const TOKEN_FLOOD = { description: "Too many attempts from this client, or with this link (Retry-After)" };

/** A token that could never have been issued answers 400 before any lookup. */
export function requireTokenShape(kind: keyof typeof shapes, token: string) {
  if (!shapes[kind].test(token)) {
    throw new ApiError(400, "malformed_token", "This is not a link token; copy the whole link.", {
      issues: [{ path: "token", message: "Not a token this service issues." }],
    });
  }
}
