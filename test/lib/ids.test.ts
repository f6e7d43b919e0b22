import { describe, expect, it } from "vitest";
import { newId } from "../../worker/lib/ids";

describe("ids", () => {
  it("sort in creation order, also when many are made in the same millisecond", () => {
    const ids = Array.from({ length: 1000 }, () => newId("mem", 1_500_000_000_000));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(1000);
  });

  // Times in the past, so ids made after these tests in this isolate use the real clock again.
  it("keep sorting after the clock steps back", () => {
    const later = newId("mem", 1_600_000_000_000);
    const earlierClock = newId("mem", 1_599_999_999_000);
    expect(earlierClock > later).toBe(true);
  });

  it("carry the prefix, 10 time digits and 16 random digits", () => {
    expect(newId("ws")).toMatch(/^ws_[0-9A-HJKMNP-TV-Z]{26}$/);
  });
});
