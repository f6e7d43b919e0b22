import { describe, expect, it } from "vitest";
import { poke, pokeUnlessQuiet } from "../../worker/live/poke";

/**
 * A stand-in for the WORKSPACE namespace whose pokes end only when the test says so:
 * `started` counts the RPCs sent, `finish()` ends the oldest one still running, which
 * answers with `quietMs` of quiet time.
 */
function fakeNamespace() {
  const running: (() => void)[] = [];
  const fake = {
    started: 0,
    quietMs: 0,
    finish: () => running.shift()?.(),
    env: {
      WORKSPACE: {
        getByName: () => ({
          poke: () => {
            fake.started += 1;
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
