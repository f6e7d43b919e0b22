import { ApiError } from "../lib/errors";

/** `randomToken(prefix)`: the prefix, then 32 random bytes in base64url (43 characters). */
const shapes = {
  invitation: /^lmi_[A-Za-z0-9_-]{43}$/,
  signIn: /^lms_[A-Za-z0-9_-]{43}$/,
  credentialChange: /^lmx_[A-Za-z0-9_-]{43}$/,
} as const;
export const TOKEN_PREFIX = { invitation: "lmi", signIn: "lms", credentialChange: "lmx" } as const;

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
