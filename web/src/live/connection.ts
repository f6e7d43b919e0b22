/**
 * The admin view's live stream, one per tab. The socket lives in a worker (./worker.ts),
 * which receives and checks every frame and hands the page the events in batches; here
 * they go to the listeners one by one, in seq order, each once.
 */
import type { LiveEvent } from "../../../worker/live/protocol";
import { type LiveState, WORKER_URL, type WorkerCommand, type WorkerReport } from "./relay";

export type { LiveState } from "./relay";

type Listener = (event: LiveEvent) => void;

export class LiveConnection {
  private worker: Worker | null = null;
  private listeners = new Set<Listener>();
  private stateListeners = new Set<(state: LiveState) => void>();
  private reachListeners = new Set<() => void>();
  /** The last seq seen, so a stream started again resumes after it; null: from the head. */
  private lastSeq: number | null = null;
  state: LiveState = "connecting";

  /** @param onSignedOut called when the session is gone (ended, or the member archived). */
  constructor(private readonly onSignedOut: () => void) {}

  start() {
    if (this.worker) return;
    const worker = new Worker(WORKER_URL, { type: "module" });
    worker.addEventListener("message", (event: MessageEvent<WorkerReport>) => {
      if (this.worker === worker) this.receive(event.data);
    });
    // A worker that cannot start (its script failed to load or to run) receives nothing: say so.
    worker.addEventListener("error", () => {
      if (this.worker === worker) this.stop();
    });
    worker.postMessage({ kind: "start", after: this.lastSeq } satisfies WorkerCommand);
    this.worker = worker;
    this.setState("connecting");
  }

  /** The last seq this tab has seen (the stream's head once ready); null before the first ready. */
  get head(): number | null {
    return this.lastSeq;
  }

  stop() {
    // Ending the worker closes its socket.
    this.worker?.terminate();
    this.worker = null;
    this.setState("stopped");
  }

  /** Every committed change, in seq order, each once. Returns the unsubscribe (an effect's cleanup). */
  onEvent(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** The members our role reaches may have changed (MESSAGE.reachChanged): reload lists. Returns the unsubscribe. */
  onReachChanged(listener: () => void): () => void {
    this.reachListeners.add(listener);
    return () => {
      this.reachListeners.delete(listener);
    };
  }

  onState(listener: (state: LiveState) => void): () => void {
    this.stateListeners.add(listener);
    listener(this.state);
    return () => {
      this.stateListeners.delete(listener);
    };
  }

  private receive(report: WorkerReport) {
    if (report.kind === "events") {
      for (const event of report.events) {
        this.lastSeq = event.seq;
        for (const listener of this.listeners) listener(event);
      }
    } else if (report.kind === "state") {
      this.lastSeq = report.lastSeq ?? this.lastSeq;
      this.setState(report.state);
    } else if (report.kind === "reachChanged") {
      for (const listener of this.reachListeners) listener();
    } else {
      this.stop();
      this.onSignedOut();
    }
  }

  private setState(state: LiveState) {
    if (state === this.state) return;
    this.state = state;
    for (const listener of this.stateListeners) listener(state);
  }
}
