import type { Caller } from "../app";
import { ApiError } from "../lib/errors";
import type { MemberStatus } from "../members/table";
import { grants } from "../roles/scopes";

/** Statuses of the Anonymous tab and of what left it (merged, expired). */
const ANONYMOUS_STATUSES: readonly string[] = ["anonymous", "merged", "expired"] satisfies MemberStatus[];

/**
 * Whether a member of this status is one only members:admin reaches: the REST routes
 * refuse them (`requireAnonymousAccess`) and the live stream withholds their events
 * (durable-objects/page.ts).
 */
export const needsMembersAdmin = (status: string | null | undefined) => !!status && ANONYMOUS_STATUSES.includes(status);

/** The Anonymous tab and merges need members:admin, on top of the route's own scope. */
export function requireAnonymousAccess(caller: Caller, status: MemberStatus | undefined) {
  if (needsMembersAdmin(status) && !grants(caller.scopes, "members:admin")) {
    throw new ApiError(403, "forbidden", "Anonymous members need the members:admin scope.");
  }
}

/** OpenAPI: the refusal of `requireAnonymousAccess`. */
export const anonymousResponse = {
  403: { description: "forbidden: an anonymous, merged or expired member needs the members:admin scope" },
} as const;
