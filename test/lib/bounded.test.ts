import { describe, expect, it } from "vitest";
import { BatchSizer, batchDuration, boundsFrom, nextBatchSize, TARGET_BATCH_MS } from "../../worker/lib/bounded";

const bounds = { min: 10, max: 5000 };
/** A batch's results as D1 answers them: one meta per statement. */
const took = (...ms: number[]) => ms.map((duration) => ({ meta: { duration } }));

describe("bounded batch sizes", () => {
  it("shrink at once in proportion after a batch that held D1 far past the target", () => {
    // The measured case: 5,000 rows in one batch took 1.2 s.
    const next = nextBatchSize(5000, 1200, bounds);
    expect(next).toBeLessThan(5000 * (TARGET_BATCH_MS / 1200));
    expect(next).toBeGreaterThan(100);
  });

  it("grow at most twofold after a quick batch, and when D1 reports no time at all", () => {
    expect(nextBatchSize(100, 1, bounds)).toBe(200);
    expect(nextBatchSize(100, 0, bounds)).toBe(200);
  });

  it("settle below the target when the time grows with the size", () => {
    // D1 time proportional to the size: 0.1 ms an item.
    let size = 10;
    const durations: number[] = [];
    for (let i = 0; i < 20; i++) {
      const ms = size * 0.1;
      durations.push(ms);
      size = nextBatchSize(size, ms, bounds);
    }
    expect(durations.slice(-5).every((ms) => ms <= TARGET_BATCH_MS && ms >= TARGET_BATCH_MS / 2)).toBe(true);
  });

  it("stay within their floor and ceiling", () => {
    expect(nextBatchSize(10, 10_000, bounds)).toBe(10);
    expect(nextBatchSize(4000, 1, bounds)).toBe(5000);
  });

  it("add up the D1 time of every statement of a batch", () => {
    expect(batchDuration(took(1, 2.5, 0))).toBe(3.5);
    expect(batchDuration([{}, { meta: {} }])).toBe(0);
  });

  it("follow each batch recorded, keep the longest, and learn nothing from a batch that found little to do", () => {
    const sizer = new BatchSizer(bounds, 100);
    expect(sizer.record(took(2, 3))).toBe(5);
    expect(sizer.size).toBe(200);
    sizer.record(took(80), 200);
    expect(sizer.size).toBe(Math.floor((200 * 0.7 * TARGET_BATCH_MS) / 80));
    const before = sizer.size;
    // The end of the work: 3 items where the size allowed more.
    sizer.record(took(1), 3);
    expect(sizer.size).toBe(before);
    expect(sizer.longestMs).toBe(80);
  });

  it("take a lower ceiling from the BULK_BATCH var, and ignore one that is not a positive number", () => {
    expect(boundsFrom({ BULK_BATCH: "3" }, bounds)).toEqual({ min: 3, max: 3 });
    expect(boundsFrom({ BULK_BATCH: "50" }, bounds)).toEqual({ min: 10, max: 50 });
    for (const value of [undefined, "", "0", "-2", "many"]) {
      expect(boundsFrom({ BULK_BATCH: value }, bounds)).toEqual(bounds);
    }
    expect(boundsFrom({}, bounds)).toEqual(bounds);
    expect(new BatchSizer(boundsFrom({ BULK_BATCH: "3" }, bounds), 100).size).toBe(3);
  });
});
