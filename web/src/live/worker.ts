/**
 * The live stream's socket, in a dedicated worker. A bulk change (an import of 100,000
 * rows, a label deleted from many members) comes as one frame per event, and a frame
 * costs the thread that receives it about 0.2 ms (the WebSocket's message task, the
 * clone partysocket makes of each event, JSON and the schema check), which on the page's
 * thread left it busy half the time of an import and answering late. Here the frames are
 * received, parsed and checked off the page's thread, and the page gets them in batches,
 * one message every BATCH_MS at most.
 *
 * One partysocket that fetches a fresh single-use ticket on every (re)connect and resumes
 * with `after=<last seq seen>`, so a dropped connection misses nothing (the server
 * replays, then says ready).
 */
import { WebSocket as ReconnectingWebSocket } from "partysocket";
import { isEvent, type LiveEvent, MESSAGE, parseServerMessage } from "../../../worker/live/protocol";
import { ApiError, api, ok } from "../app/api";
import type { LiveState, WorkerCommand, WorkerReport } from "./relay";

/** How long events wait to travel together to the page: well under a frame. */
const BATCH_MS = 8;

let socket: ReconnectingWebSocket | null = null;
/** The last seq seen; null until the first ready (then the stream's head). */
let lastSeq: number | null = null;
let state: LiveState = "connecting";
let pending: LiveEvent[] = [];
let timer: ReturnType<typeof setTimeout> | null = null;

const report = (message: WorkerReport) => self.postMessage(message);

/** Sends the events waiting, so whatever is reported next comes after them. */
function flush() {
  if (timer !== null) clearTimeout(timer);
  timer = null;
  if (pending.length === 0) return;
  report({ kind: "events", events: pending });
  pending = [];
}

function setState(next: LiveState) {
  if (next === state) return;
  flush();
  state = next;
  report({ kind: "state", state, lastSeq });
}

async function url() {
  let ticket: string;
  try {
    ({ ticket } = await ok(api.POST("/v1/live/tickets")));
  } catch (error) {
    // Without a session no ticket will ever come: stop retrying and let the user sign in again.
    if (error instanceof ApiError && error.status === 401) {
      stop();
      report({ kind: "signedOut" });
    }
    throw error;
  }
  const origin = location.origin.replace(/^http/, "ws");
  const after = lastSeq === null ? "" : `after=${lastSeq}&`;
  return `${origin}/v1/live?${after}token=${encodeURIComponent(ticket)}`;
}

function receive(data: unknown) {
  const message = parseServerMessage(data);
  if (!message) return;
  if (isEvent(message)) {
    // Replays and broadcasts may meet at the seam; seq says what was already applied.
    if (lastSeq !== null && message.seq <= lastSeq) return;
    lastSeq = message.seq;
    pending.push(message);
    timer ??= setTimeout(flush, BATCH_MS);
  } else if (message.type === MESSAGE.ready) {
    lastSeq ??= message.head;
    setState("live");
  } else if (message.type === MESSAGE.reachChanged || message.type === MESSAGE.reset) {
    // A reset: events missed while away are no longer kept (eventRetentionDays); reload as well.
    flush();
    report({ kind: "reachChanged" });
  }
}

function start(after: number | null) {
  if (socket) return;
  lastSeq = after;
  socket = new ReconnectingWebSocket(url, [], {
    minReconnectionDelay: 250,
    maxReconnectionDelay: 5_000,
    // Tickets are single-use: a socket that never opened must not be retried with the same URL.
    connectionTimeout: 8_000,
  });
  socket.addEventListener("message", (frame) => receive(frame.data));
  socket.addEventListener("close", () => setState(socket ? "reconnecting" : "stopped"));
}

function stop() {
  const open = socket;
  socket = null;
  open?.close();
  setState("stopped");
}

self.addEventListener("message", (event: MessageEvent<WorkerCommand>) => {
  if (event.data.kind === "start") start(event.data.after);
});
