import type { Context, MiddlewareHandler } from "hono";
import { contextStorage, tryGetContext } from "hono/context-storage";
import { noteWrite } from "./request-writes";

/** What D1 reports in a result's `meta`, summed over a request: D1 bills rows read and written. */
export type D1Usage = { rowsRead: number; rowsWritten: number; durationMs: number };

/** Set `DEBUG_METRICS=1` (a var: `wrangler dev --var DEBUG_METRICS:1`) to have the header; the benchmarks do. */
export type MetricsEnv = Partial<{ DEBUG_METRICS: string }>;

const usageOf = new WeakMap<Context, D1Usage>();
const withContext = contextStorage();

/**
 * When the deployment opts in (`DEBUG_METRICS=1`), answers a caller that authenticated
 * (an API key, a session or the platform token: worker/auth/route.ts sets `authenticated`) with a
 * `Server-Timing: d1;dur=..;desc="rows_read=.. rows_written=.."` header: what the
 * request cost in D1. Never on a route anyone may call (login, link tokens, join
 * requests, inbound provider calls), nor on a refused credential: there the rows read tell
 * apart what the answer must not (a known email from an unknown one), so the metric is
 * off by default and a public answer never carries it.
 *
 * The database wrapper in ./db.ts reports each result's meta to the request it runs in,
 * found through AsyncLocalStorage (Hono's context storage, which needs the nodejs_compat
 * flag), so this middleware must run before any query of the request.
 */
export function d1Metrics(): MiddlewareHandler<{ Bindings: MetricsEnv; Variables: { authenticated?: true } }> {
  return async (c, next) => {
    if (c.env.DEBUG_METRICS !== "1") return next();
    const usage: D1Usage = { rowsRead: 0, rowsWritten: 0, durationMs: 0 };
    usageOf.set(c, usage);
    await withContext(c, next);
    if (c.var.authenticated) c.header("Server-Timing", serverTiming(usage), { append: true });
  };
}

function serverTiming(usage: D1Usage): string {
  const desc = `rows_read=${usage.rowsRead} rows_written=${usage.rowsWritten}`;
  return `d1;dur=${Math.round(usage.durationMs * 1000) / 1000};desc="${desc}"`;
}

/** Adds one D1 result's meta to the current request's usage; a no-op outside a metered request. */
export function recordD1Meta(meta: Partial<D1Meta> | undefined): void {
  if (meta) noteWrite(meta);
  const c = tryGetContext();
  const usage = c && usageOf.get(c);
  if (!usage || !meta) return;
  usage.rowsRead += meta.rows_read ?? 0;
  usage.rowsWritten += meta.rows_written ?? 0;
  usage.durationMs += meta.duration ?? 0;
}
