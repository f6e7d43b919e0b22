const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

let last = { time: -1, tail: [] as number[] };

/**
 * A time-ordered id (ULID layout: 48-bit milliseconds then 80 random bits) with a
 * type prefix. Sorting ids sorts by creation time, which keyset pagination relies on.
 * Monotonic within an isolate: ids made in the same millisecond (or while the clock
 * stepped back) continue from the previous one, so they still sort in creation order.
 */
export function newId(prefix: string, now = Date.now()): string {
  last = now > last.time ? { time: now, tail: randomTail() } : { time: last.time, tail: increment(last.tail) };
  let time = "";
  let t = last.time;
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32] + time;
    t = Math.floor(t / 32);
  }
  return `${prefix}_${time}${last.tail.map((digit) => CROCKFORD[digit]).join("")}`;
}

const randomTail = () => [...crypto.getRandomValues(new Uint8Array(16))].map((byte) => byte % 32);

function increment(tail: readonly number[]): number[] {
  const next = [...tail];
  for (let i = next.length - 1; i >= 0; i--) {
    next[i] = ((next[i] ?? 0) + 1) % 32;
    if (next[i] !== 0) return next;
  }
  return randomTail(); // 2^80 ids in one millisecond: start afresh rather than wrap.
}
