import { ApiError } from "../lib/errors";
import { sqliteFailure } from "../lib/sqlite-errors";

/** Seconds a client waits before sending a write the move's switch refused again. */
export const MOVED_RETRY_AFTER_SECONDS = 1;

/**
 * A write the move triggers refused (./triggers.ts): the workspace's rows are frozen on
 * this shard because they are moving, or have moved, to another. Nothing was written; the
 * client sends the request again after Retry-After.
 */
export function movedRefusal(err: unknown): ApiError | undefined {
  if (sqliteFailure(err).kind !== "moved") return undefined;
  return new ApiError(503, "workspace_moved", undefined, {}, { "Retry-After": String(MOVED_RETRY_AFTER_SECONDS) });
}
