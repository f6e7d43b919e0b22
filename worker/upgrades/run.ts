import { giveWay, nextBatchSize } from "../lib/bounded";
import { registerFirstShard } from "../shards/register";
import { shardsOf } from "../shards/shards";
import { readState, step, type UpgradeState } from "./lean-members";

type Phase = UpgradeState["phase"] | "none";
/** Where an upgrade stands on one shard. */
export type ShardProgress = { shard: number; name: string; phase: Phase; copied: number; done: boolean };
/**
 * Every shard's progress, and a summary: `phase` the least advanced shard's, `copied` the
 * sum, `done` once every shard's upgrade and the directory's registration of shard 0's
 * workspaces (worker/shards/register.ts) are.
 */
export type UpgradeProgress = {
  name: string;
  phase: Phase;
  copied: number;
  done: boolean;
  shards: ShardProgress[];
  registration: { registered: number; done: boolean };
};

/** Rows a step starts with: its size then follows D1's time for the last step (../lib/bounded.ts). */
const FIRST_STEP = 100;
const NAME = "lean-members";
/** Phases in order; "none" (no upgrade to run: the migrations that start it have not) counts as finished. */
const ORDER: Phase[] = ["copy-members", "copy-events", "swap", "cleanup", "done", "none"];

/**
 * Takes the online upgrades on for about `budgetMs`, on every shard at once (each is its
 * own database, so they hold up nothing of each other), and registers the workspaces that
 * shard 0 held before the directory: from the Cron Trigger, and from
 * `POST /v1/platform/upgrades` (the local scripts and the test setup run them to the end so).
 */
export async function runUpgrades(env: Env, budgetMs: number): Promise<UpgradeProgress> {
  const [registration, ...shards] = await Promise.all([
    registerFirstShard(env, budgetMs),
    ...shardsOf(env).map(async ({ index, d1 }) => ({ shard: index, ...(await runShardUpgrades(d1, budgetMs)) })),
  ]);
  const least = shards.reduce<ShardProgress | undefined>(
    (a, b) => (a && ORDER.indexOf(a.phase) <= ORDER.indexOf(b.phase) ? a : b),
    undefined,
  );
  return {
    name: NAME,
    phase: least?.phase ?? "none",
    copied: shards.reduce((sum, s) => sum + s.copied, 0),
    done: registration.done && shards.every((s) => s.done),
    shards,
    registration,
  };
}

/**
 * Takes the lean layout's upgrade (./lean-members.ts) of one shard a bounded step at a
 * time, for about `budgetMs`.
 */
export async function runShardUpgrades(d1: D1Database, budgetMs: number): Promise<Omit<ShardProgress, "shard">> {
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

function progressOf(state: UpgradeState | null): Omit<ShardProgress, "shard"> {
  return {
    name: NAME,
    phase: state?.phase ?? "none",
    copied: state?.copied ?? 0,
    done: !state || state.phase === "done",
  };
}
