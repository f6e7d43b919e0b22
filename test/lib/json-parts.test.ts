import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { JSON_PART_BYTES, jsonArrayParts } from "../../worker/lib/json-parts";

const bytes = (text: string) => new TextEncoder().encode(text).length;

describe("JSON values in parts under D1's limit for a value", () => {
  it("keeps every item, in order, in arrays of at most the given UTF-8 bytes (or of one item)", () => {
    const item = fc.record({ name: fc.string({ unit: "binary", maxLength: 40 }), n: fc.integer() });
    fc.assert(
      fc.property(fc.array(item, { maxLength: 200 }), fc.integer({ min: 64, max: 2000 }), (items, max) => {
        const parts = jsonArrayParts(items, max);
        expect(parts.flatMap((part) => JSON.parse(part))).toEqual(items);
        for (const part of parts) {
          if (JSON.parse(part).length > 1) expect(bytes(part)).toBeLessThanOrEqual(max);
        }
      }),
    );
  });

  it("counts characters past ASCII by their bytes", () => {
    const items = Array.from({ length: 10 }, () => "é".repeat(40));
    const parts = jsonArrayParts(items, 200);
    expect(parts.length).toBeGreaterThan(1);
    for (const part of parts) expect(bytes(part)).toBeLessThanOrEqual(200);
  });

  it("gives an item longer than a part a part of its own, and none for no items", () => {
    expect(jsonArrayParts(["a", "b".repeat(100), "c"], 50)).toEqual(['["a"]', `["${"b".repeat(100)}"]`, '["c"]']);
    expect(jsonArrayParts([])).toEqual([]);
  });

  it("splits a chunk's worth of members (5,000 rows of 400 characters) under 2 MB a part", () => {
    const people = Array.from({ length: 5000 }, (_, i) => ({ id: `mem_${i}`, description: "\u00e9".repeat(200) }));
    const parts = jsonArrayParts(people);
    expect(parts.length).toBeGreaterThan(1);
    for (const part of parts) expect(bytes(part)).toBeLessThanOrEqual(JSON_PART_BYTES);
  });
});
