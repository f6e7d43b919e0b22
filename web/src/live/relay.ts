/**
 * What the live stream's worker (./worker.ts) and the page (./connection.ts) say to each
 * other through postMessage: both import these types, so neither side restates the other.
 */
import type { LiveEvent } from "../../../worker/live/protocol";

export type LiveState = "connecting" | "live" | "reconnecting" | "stopped";

/** page -> worker: open the stream, resuming after `after` (null: from the head). */
export type WorkerCommand = { kind: "start"; after: number | null };

/** worker -> page, in the stream's order. */
export type WorkerReport =
  /** Events received since the last report, in seq order, each once. */
  | { kind: "events"; events: LiveEvent[] }
  /** `lastSeq`: the last seq seen (the head at ready), so a stream started again resumes after it. */
  | { kind: "state"; state: LiveState; lastSeq: number | null }
  /** MESSAGE.reachChanged: reload what is shown. */
  | { kind: "reachChanged" }
  /** No ticket without a session: the worker stopped; sign in again. */
  | { kind: "signedOut" };

/** Where the build (scripts/build-web.mjs) puts the worker. */
export const WORKER_URL = "/assets/live-worker.js";
