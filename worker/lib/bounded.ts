import type { MetricsEnv } from "./d1-metrics";

/**
 * Bounded transactions. A D1 database runs one query at a time for every workspace on it
 * (https://developers.cloudflare.com/d1/platform/limits/), so a batch that runs for a
 * second stalls every request of every workspace for that second. Set-based work (import
 * chunks, a label taken from its holders, a role's type given to its members, the expiry
 * job, the actions sweep, the online schema upgrades) is cut into batches of at most
 * about TARGET_BATCH_MS of D1's own time (`meta.duration`), each sized from how long the
 * last one took.
 */
export const TARGET_BATCH_MS = 50;

/**
 * What a batch is sized toward: below the target, so that the noise between batches of
 * one size (other work on the machine, pages not yet cached) mostly stays under it.
 */
const AIM = 0.7;
/** Growth at most per batch: a batch that was quick may have been quick by chance. */
const GROWTH = 2;

export type SizeBounds = {
  /** The least a batch does, however slow the last one was: the work must go on. */
  min: number;
  /** The most: what the batch's statements may carry (parameters, statements, messages). */
  max: number;
};

const clamp = (n: number, { min, max }: SizeBounds) => Math.max(min, Math.min(max, Math.floor(n)));

/**
 * The size of the next batch, from the last one's size and D1's time for it
 * (`meta.duration`, ms): scaled so that it would have taken AIM of TARGET_BATCH_MS, at
 * most GROWTH times the last, within `bounds`. Over the target it shrinks at once in
 * proportion; a batch that took no measurable time grows.
 */
export function nextBatchSize(size: number, durationMs: number, bounds: SizeBounds = { min: 10, max: 5000 }): number {
  const factor = durationMs > 0 ? Math.min(GROWTH, (AIM * TARGET_BATCH_MS) / durationMs) : GROWTH;
  return clamp(Math.max(1, size) * factor, bounds);
}

/** D1's own time for a batch: the sum of its statements' `meta.duration` (ms). */
export function batchDuration(results: readonly { meta?: Partial<D1Meta> }[]): number {
  let ms = 0;
  for (const result of results) ms += result.meta?.duration ?? 0;
  return ms;
}

/**
 * A batch size that follows the batches it sizes: `size` for the next one, `record(...)`
 * with the results of the one just run. Starts at `start` (small: nothing is known yet),
 * within `bounds`.
 */
export class BatchSizer {
  size: number;
  /** The longest batch recorded (ms). */
  longestMs = 0;

  constructor(
    readonly bounds: SizeBounds,
    start: number,
  ) {
    this.size = clamp(start, bounds);
  }

  /**
   * Records a batch that did `done` items (by default the current size); answers its
   * duration (ms). A batch that found less than half the size to do (the end of the work,
   * of a window) says little about a full one: the size stays.
   */
  record(results: readonly { meta?: Partial<D1Meta> }[], done = this.size): number {
    const ms = batchDuration(results);
    this.longestMs = Math.max(this.longestMs, ms);
    if (done * 2 >= this.size) this.size = nextBatchSize(done, ms, this.bounds);
    return ms;
  }
}

/** A var that lowers the most a batch of a background job does (tests: several batches over a few members). */
export type BulkBatchEnv = Partial<{ BULK_BATCH: string }>;

/** `bounds` with a lower `max` given by the BULK_BATCH var; as they are when it is unset or not a positive number. */
export function boundsFrom(env: object, bounds: SizeBounds): SizeBounds {
  const value = (env as BulkBatchEnv).BULK_BATCH;
  const n = Math.floor(Number(value));
  if (!value || !Number.isFinite(n) || n < 1) return bounds;
  const max = Math.min(bounds.max, n);
  return { min: Math.min(bounds.min, max), max };
}

/**
 * With DEBUG_METRICS=1 (as for the Server-Timing header, ./d1-metrics.ts), logs one line
 * per bounded batch: what it did, how many items and D1's time. `npm run bench:isolation`
 * reads the longest from the server's log. Ids only, never member data.
 */
export function logBatch(env: object, job: string, fields: Record<string, string | number>): void {
  if ((env as MetricsEnv).DEBUG_METRICS !== "1") return;
  console.log(JSON.stringify({ boundedBatch: job, ...fields }));
}

/**
 * Between two batches of a job: D1 is left to others for about a round trip to it.
 * In production the next batch reaches D1 a round trip after the last answered, and
 * queries others queued meanwhile run first. Under `wrangler dev` the job and the local D1
 * answer each other in-process, and workerd's event loop takes in connections (and I/O)
 * only when nothing else is ready, so other requests waited for the job's whole invocation
 * (measured: GET /healthz, which reads nothing, 2.1 s p50 while an import ran; 270 ms with
 * a 1 ms pause, in which a request makes one step; bench:isolation's writes were held least
 * with 5 to 15 ms).
 */
export const GIVE_WAY_MS = 5;
export const giveWay = () => new Promise<void>((resolve) => setTimeout(resolve, GIVE_WAY_MS));
