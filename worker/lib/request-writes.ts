import { AsyncLocalStorage } from "node:async_hooks";

/** Whether a statement of the request has changed a database yet. */
type Writes = { wrote: boolean };

const requestWrites = new AsyncLocalStorage<Writes>();

/**
 * Runs `run` (a request) and answers with whether any D1 statement it ran through the
 * metered binding (./db.ts) changed a database: a request refused part way may be sent
 * again only when nothing of it was written.
 */
export async function trackingWrites<T>(run: () => Promise<T>): Promise<{ result: T; wrote: boolean }> {
  const writes: Writes = { wrote: false };
  const result = await requestWrites.run(writes, run);
  return { result, wrote: writes.wrote };
}

/** Notes a D1 result of the current request (./d1-metrics.ts `recordD1Meta` calls it for every one). */
export function noteWrite(meta: Partial<D1Meta>): void {
  const writes = requestWrites.getStore();
  if (writes && (meta.changed_db || (meta.rows_written ?? 0) > 0)) writes.wrote = true;
}
