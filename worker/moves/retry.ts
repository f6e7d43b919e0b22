import { trackingWrites } from "../lib/request-writes";

/**
 * Set by the error handler on a 503 workspace_moved (./refusal.ts) to the workspace whose
 * rows refused the write; read and removed by `retriedAfterMove`, never sent out.
 */
export const MOVED_WORKSPACE_HEADER = "x-moved-workspace";

/** The bodies a retry keeps a copy of: the API's JSON limit (uploads stream and are not sent again). */
const MAX_REPLAY_BYTES = 1024 * 1024;

/** Whether the request can be sent again: a write whose body, if any, is small and of known length. */
function replayable(request: Request): boolean {
  if (request.method === "GET" || request.method === "HEAD") return false;
  if (request.body === null) return true;
  const length = Number(request.headers.get("Content-Length") ?? Number.NaN);
  return Number.isFinite(length) && length <= MAX_REPLAY_BYTES;
}

function withoutMovedHeader(response: Response): Response {
  if (!response.headers.has(MOVED_WORKSPACE_HEADER)) return response;
  const headers = new Headers(response.headers);
  headers.delete(MOVED_WORKSPACE_HEADER);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

/**
 * Runs a request; when a move's switch refused its write ("workspace_moved", nothing
 * written: the trigger aborts the whole batch) and nothing of it was written before (an
 * earlier batch of the same request), waits for the switch (`settled`: false past its
 * bound) and runs it once more, on the workspace's new shard. Otherwise the refusal stands:
 * 503 with Retry-After. A write is so never lost (the client retries a 503) and never
 * applied twice (only a request that wrote nothing runs again).
 */
export async function retriedAfterMove(
  request: Request,
  run: (request: Request) => Promise<Response>,
  settled: (workspaceId: string) => Promise<boolean>,
): Promise<Response> {
  const replay = replayable(request) ? request.clone() : undefined;
  const { result: first, wrote } = await trackingWrites(() => run(request));
  const workspaceId = first.headers.get(MOVED_WORKSPACE_HEADER);
  if (!workspaceId || !replay || wrote || !(await settled(workspaceId))) return withoutMovedHeader(first);
  return withoutMovedHeader(await run(replay));
}
