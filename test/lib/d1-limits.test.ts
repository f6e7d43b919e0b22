import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

/**
 * The local D1 of these tests refuses what production D1 refuses
 * (https://developers.cloudflare.com/d1/platform/limits/), so a statement beyond a limit
 * fails here too, as soon as a test builds it (test/reach/condition-values.test.ts).
 */
describe("D1 in the tests, as in production", () => {
  const list = (n: number) => Array.from({ length: n }, (_, i) => i);

  it("binds at most 100 values in a statement", async () => {
    const query = (n: number) =>
      `select json_array_length(json_array(${list(n)
        .map(() => "?")
        .join(", ")})) as n`;
    expect(
      await env.SCRATCH_A.prepare(query(100))
        .bind(...list(100))
        .first("n"),
    ).toBe(100);
    await expect(
      env.SCRATCH_A.prepare(query(101))
        .bind(...list(101))
        .first("n"),
    ).rejects.toThrow(/too many SQL variables/);
  });

  it("nests expressions at most 100 deep", async () => {
    const chain = (n: number) => `select ${list(n).join(" or ")} as ok`;
    expect(await env.SCRATCH_A.prepare(chain(50)).first("ok")).toBe(1);
    await expect(env.SCRATCH_A.prepare(chain(101)).first("ok")).rejects.toThrow(/Expression tree is too large/);
  });
});
