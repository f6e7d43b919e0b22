/**
 * The admin view's live stream: one partysocket per tab that fetches a fresh
 * single-use ticket on every (re)connect and resumes with `after=<last seq seen>`, so
 * a dropped connection misses nothing (the server replays, then says ready).
 */
import { WebSocket as ReconnectingWebSocket } from "partysocket";
import { ApiError, api } from "../app/api";
import { isEvent, type LiveEvent, MESSAGE, parseServerMessage } from "../live-protocol";

export type LiveState = "connecting" | "live" | "reconnecting" | "stopped";
type Listener = (event: LiveEvent) => void;

export class LiveConnection {
  private socket: ReconnectingWebSocket | null = null;
  private listeners = new Set<Listener>();
  private stateListeners = new Set<(state: LiveState) => void>();
  private accessListeners = new Set<() => void>();
  /** The last seq seen; null until the first ready (then the stream's head). */
  private lastSeq: number | null = null;
  state: LiveState = "connecting";

  /** @param onSignedOut called when the session is gone (ended, or the member archived). */
  constructor(private readonly onSignedOut: () => void) {}

  start() {
    if (this.socket) return;
    this.socket = new ReconnectingWebSocket(() => this.url(), [], {
      minReconnectionDelay: 250,
      maxReconnectionDelay: 5_000,
      // Tickets are single-use: a socket that never opened must not be retried with the same URL.
      connectionTimeout: 8_000,
    });
    this.socket.addEventListener("message", (frame) => this.receive(frame.data));
    this.socket.addEventListener("close", () => this.setState(this.socket ? "reconnecting" : "stopped"));
  }

  stop() {
    const socket = this.socket;
    this.socket = null;
    socket?.close();
    this.setState("stopped");
  }

  /** Every committed change, in seq order, each once. Returns the unsubscribe (an effect's cleanup). */
  onEvent(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** The members our role reaches may have changed (MESSAGE.accessChanged): reload lists. Returns the unsubscribe. */
  onAccessChanged(listener: () => void): () => void {
    this.accessListeners.add(listener);
    return () => {
      this.accessListeners.delete(listener);
    };
  }

  onState(listener: (state: LiveState) => void): () => void {
    this.stateListeners.add(listener);
    listener(this.state);
    return () => {
      this.stateListeners.delete(listener);
    };
  }

  private async url() {
    let ticket: string;
    try {
      ({ ticket } = await api<{ ticket: string }>("POST", "/v1/live/tickets", {}));
    } catch (error) {
      // Without a session no ticket will ever come: stop retrying and let the user sign in again.
      if (error instanceof ApiError && error.status === 401) {
        this.stop();
        this.onSignedOut();
      }
      throw error;
    }
    const origin = location.origin.replace(/^http/, "ws");
    const after = this.lastSeq === null ? "" : `after=${this.lastSeq}&`;
    return `${origin}/v1/live?${after}token=${encodeURIComponent(ticket)}`;
  }

  private receive(data: unknown) {
    const message = parseServerMessage(data);
    if (!message) return;
    if (isEvent(message)) {
      // Replays and broadcasts may meet at the seam; seq says what was already applied.
      if (this.lastSeq !== null && message.seq <= this.lastSeq) return;
      this.lastSeq = message.seq;
      for (const listener of this.listeners) listener(message);
    } else if (message.type === MESSAGE.ready) {
      this.lastSeq ??= message.head;
      this.setState("live");
    } else if (message.type === MESSAGE.accessChanged) {
      for (const listener of this.accessListeners) listener();
    }
  }

  private setState(state: LiveState) {
    if (state === this.state) return;
    this.state = state;
    for (const listener of this.stateListeners) listener(state);
  }
}
