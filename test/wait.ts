// Runtime-neutral test helpers, shared by the tests in workerd and those in Node.

/** Polls until `check` holds, failing with `what` after `timeoutMs`. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * Rate limit counters count per wall-clock window (a whole minute: wrangler.toml's
 * `period`, aligned to the clock in miniflare as at Cloudflare). A test that floods waits
 * for a fresh window when fewer than `needMs` are left in this one, so its burst is
 * counted in one window.
 */
export async function inOneRateLimitWindow(needMs: number, periodMs = 60_000) {
  const left = periodMs - (Date.now() % periodMs);
  if (left < needMs) await new Promise((resolve) => setTimeout(resolve, left + 100));
}

/** The whole numbers from `from` to `to`, both included. */
export const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
