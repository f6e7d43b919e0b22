import type { Watcher } from "../../durable-objects/workspace-live";
import type { Caller } from "../app";
import { ApiError } from "../lib/errors";
import { grants } from "../roles/scopes";

/** Who may watch the workspace's events, on the live stream and through GET /v1/events alike. */
export const forbidden = () =>
  new ApiError(
    403,
    "forbidden",
    "The event log (live stream and GET /v1/events) is for team members with members:read, through a session or API key still live.",
  );

export function mayWatch(caller: Caller) {
  if (caller.type !== "team" || !grants(caller.scopes, "members:read")) throw forbidden();
}

/** Who is watching and through which credential: a socket (or ticket) ends with the key or session it came from. */
export const watcherOf = (caller: Caller): Pick<Watcher, "memberId" | "role" | "keyId" | "sessionId"> => ({
  memberId: caller.memberId,
  role: "",
  keyId: caller.keyId ?? null,
  sessionId: caller.keyId ? null : (caller.sessionId ?? null),
});
