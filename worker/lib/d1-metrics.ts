import type { Context, MiddlewareHandler } from "hono";
import { contextStorage, tryGetContext } from "hono/context-storage";

/** What D1 reports in a result's `meta`, summed over a request: D1 bills rows read and written. */
export type D1Usage = { rowsRead: number; rowsWritten: number; durationMs: number };

const usageOf = new WeakMap<Context, D1Usage>();
const withContext = contextStorage();

/**
 * Answers every response with a `Server-Timing: d1;dur=..;desc="rows_read=.. rows_written=.."`
 * header: what the request cost in D1. The database wrapper in ./db.ts reports each
 * result's meta to the request it runs in, found through AsyncLocalStorage (Hono's
 * context storage, which needs the nodejs_compat flag), so this middleware must run
 * before any query of the request.
 */
export function d1Metrics(): MiddlewareHandler {
  return async (c, next) => {
    const usage: D1Usage = { rowsRead: 0, rowsWritten: 0, durationMs: 0 };
    usageOf.set(c, usage);
    await withContext(c, next);
    c.header("Server-Timing", serverTiming(usage), { append: true });
  };
}

function serverTiming(usage: D1Usage): string {
  const desc = `rows_read=${usage.rowsRead} rows_written=${usage.rowsWritten}`;
  return `d1;dur=${Math.round(usage.durationMs * 1000) / 1000};desc="${desc}"`;
}

/** Adds one D1 result's meta to the current request's usage; a no-op outside a request. */
export function recordD1Meta(meta: Partial<D1Meta> | undefined): void {
  const c = tryGetContext();
  const usage = c && usageOf.get(c);
  if (!usage || !meta) return;
  usage.rowsRead += meta.rows_read ?? 0;
  usage.rowsWritten += meta.rows_written ?? 0;
  usage.durationMs += meta.duration ?? 0;
}
