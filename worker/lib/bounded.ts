/**
 * How long one batch of bulk work may hold the database: D1 runs one query at a time for
 * every workspace on it, so a request of another workspace waits for a batch in flight.
 */
export const TARGET_BATCH_MS = 50;

/**
 * The size of the next batch of bulk work, from the last one's size and D1's time for it
 * (`meta.duration`): scaled toward TARGET_BATCH_MS, growing at most twofold a step (a fast
 * batch says little about a larger one), within [min, max].
 */
export function nextBatchSize(size: number, durationMs: number, min = 10, max = 5000): number {
  const scaled = durationMs > 0 ? size * (TARGET_BATCH_MS / durationMs) : size * 2;
  return Math.max(min, Math.min(max, Math.round(Math.min(scaled, size * 2))));
}
