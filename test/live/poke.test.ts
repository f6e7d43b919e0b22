import { describe, expect, it } from "vitest";
import { poke, pokeUnlessQuiet } from "../../worker/live/poke";

/**
 * A stand-in for the WORKSPACE namespace whose pokes end only when the test says so:
 * `started` counts the RPCs sent (`readFrom` lists what each asked the object to read at
 * least: a bookmark, or undefined for the primary), `finish()` ends the oldest one still
 * running, which answers with `quietMs` of quiet time.
 */
function fakeNamespace() {
  const running: (() => void)[] = [];
  const fake = {
    started: 0,
    readFrom: [] as (string | undefined)[],
    quietMs: 0,
    finish: () => running.shift()?.(),
    env: {
      WORKSPACE: {
        getByName: () => ({
          poke: (readFrom?: string) => {
            fake.started += 1;
            fake.readFrom.push(readFrom);
            return new Promise((resolve) => running.push(() => resolve({ quietMs: fake.quietMs })));
          },
        }),
      },
    } as unknown as Env,
  };
  return fake;
}

const settled = (promise: Promise<void>) => {
  const state = { done: false };
  promise.then(() => {
    state.done = true;
  });
  return state;
};
const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("pokes after writes", () => {
  it("sends one poke at a time per workspace, and one more after it for every commit made meanwhile", async () => {
    const fake = fakeNamespace();
    const first = settled(poke(fake.env, "ws_coalesce"));
    const during = Array.from({ length: 10 }, () => settled(poke(fake.env, "ws_coalesce")));
    await tick();
    expect(fake.started).toBe(1);

    // The first poke may have read the log before the later commits: one more poke follows it.
    fake.finish();
    await tick();
    expect(first.done).toBe(true);
    expect(during.some((p) => p.done)).toBe(false);
    expect(fake.started).toBe(2);

    // A commit while that second poke runs queues a third.
    const late = settled(poke(fake.env, "ws_coalesce"));
    fake.finish();
    await tick();
    expect(during.every((p) => p.done)).toBe(true);
    expect(late.done).toBe(false);
    expect(fake.started).toBe(3);
    fake.finish();
    await tick();
    expect(late.done).toBe(true);
    expect(fake.started).toBe(3);
  });

  it("has a poke carry the newest bookmark of the commits it covers, or none (read the primary) if one had none", async () => {
    const fake = fakeNamespace();
    settled(poke(fake.env, "ws_bookmarks", "00000002-00000001"));
    // Committed while that poke runs: one poke follows, carrying the newest of their bookmarks.
    for (const bookmark of ["00000003-00000001", "00000005-00000001", "00000004-00000001"]) {
      settled(poke(fake.env, "ws_bookmarks", bookmark));
    }
    await tick();
    fake.finish();
    await tick();
    expect(fake.readFrom).toEqual(["00000002-00000001", "00000005-00000001"]);

    // A commit made through the binding (background work) has no bookmark: the poke after it reads the primary.
    settled(poke(fake.env, "ws_bookmarks", "00000006-00000001"));
    settled(poke(fake.env, "ws_bookmarks"));
    settled(poke(fake.env, "ws_bookmarks", "00000007-00000001"));
    fake.finish();
    await tick();
    fake.finish();
    await tick();
    expect(fake.readFrom.slice(2)).toEqual([undefined]);
    fake.finish();
  });

  it("pokes each workspace on its own", async () => {
    const fake = fakeNamespace();
    const a = settled(poke(fake.env, "ws_a"));
    const b = settled(poke(fake.env, "ws_b"));
    await tick();
    expect(fake.started).toBe(2);
    fake.finish();
    fake.finish();
    await tick();
    expect(a.done && b.done).toBe(true);
  });

  it("skips the pokes that may wait while the object's quiet time lasts, and no others", async () => {
    const fake = fakeNamespace();
    fake.quietMs = 60_000;
    const first = settled(pokeUnlessQuiet(fake.env, "ws_quiet"));
    await tick();
    fake.finish();
    await tick();
    expect(first.done).toBe(true);
    const skipped = Array.from({ length: 5 }, () => settled(pokeUnlessQuiet(fake.env, "ws_quiet")));
    await tick();
    expect(skipped.every((p) => p.done)).toBe(true);
    expect(fake.started).toBe(1);
    // An API write always pokes; its answer (no quiet time now) ends the quiet time.
    fake.quietMs = 0;
    const write = settled(poke(fake.env, "ws_quiet"));
    await tick();
    expect(fake.started).toBe(2);
    fake.finish();
    await tick();
    expect(write.done).toBe(true);
    settled(pokeUnlessQuiet(fake.env, "ws_quiet"));
    await tick();
    expect(fake.started).toBe(3);
    fake.finish();
  });

  it("pokes again once the quiet time has ended", async () => {
    const fake = fakeNamespace();
    fake.quietMs = 50;
    settled(pokeUnlessQuiet(fake.env, "ws_short"));
    await tick();
    fake.finish();
    await tick();
    settled(pokeUnlessQuiet(fake.env, "ws_short"));
    await tick();
    expect(fake.started).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 80));
    settled(pokeUnlessQuiet(fake.env, "ws_short"));
    await tick();
    expect(fake.started).toBe(2);
    fake.finish();
  });
});
