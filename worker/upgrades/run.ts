import { giveWay, nextBatchSize } from "../lib/bounded";
import { readState, step, type UpgradeState } from "./lean-members";

export type UpgradeProgress = { name: string; phase: UpgradeState["phase"] | "none"; copied: number; done: boolean };

/** Rows a step starts with: its size then follows D1's time for the last step (../lib/bounded.ts). */
const FIRST_STEP = 100;

/**
 * Takes the lean layout's upgrade (./lean-members.ts) a bounded step at a time, for
 * about `budgetMs`: from the Cron Trigger, and from `POST /v1/platform/upgrades` (the
 * local scripts and the test setup run it to the end that way).
 */
export async function runUpgrades(d1: D1Database, budgetMs: number): Promise<UpgradeProgress> {
  const started = Date.now();
  let size = FIRST_STEP;
  for (;;) {
    const state = await readState(d1);
    if (!state || state.phase === "done" || Date.now() - started >= budgetMs) return progressOf(state);
    const { rows, durationMs } = await step(d1, state, size);
    // A cleanup waiting out its grace did nothing: wait for a later run.
    if (rows === 0 && durationMs === 0) return progressOf(state);
    size = nextBatchSize(size, durationMs);
    // Between steps, so that the database takes other requests' queries in between.
    await giveWay();
  }
}

function progressOf(state: UpgradeState | null): UpgradeProgress {
  return {
    name: "lean-members",
    phase: state?.phase ?? "none",
    copied: state?.copied ?? 0,
    done: !state || state.phase === "done",
  };
}
