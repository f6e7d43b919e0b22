import type { Caller } from "../lib/app";
import { ApiError } from "../lib/errors";
import type { MemberStatus } from "../members/table";
import { grants } from "../roles/scopes";

/** Statuses of the Anonymous tab and of what left it (merged, expired). */
const ANONYMOUS_STATUSES: readonly MemberStatus[] = ["anonymous", "merged", "expired"];

/** The Anonymous tab and merges need members:admin, on top of the route's own scope. */
export function requireAnonymousAccess(caller: Caller, status: MemberStatus | undefined) {
  if (status && ANONYMOUS_STATUSES.includes(status) && !grants(caller.scopes, "members:admin")) {
    throw new ApiError(403, "forbidden", "Anonymous members need the members:admin scope.");
  }
}
