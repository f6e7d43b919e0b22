import { readState } from "../worker/upgrades/lean-members";
import { runShardUpgrades } from "../worker/upgrades/run";

/**
 * Brings a fresh D1 database to what a deployment's holds: `statements` (what
 * scripts/d1-schema.mjs made of the migrations when Vitest loaded its config, e.g.
 * env.TEST_SCHEMA) in one batch, then the online upgrades those migrations start.
 * test/upgrades/test-schema.test.ts checks that this makes what the migrations make.
 */
export async function applySchema(d1: D1Database, statements: string[]): Promise<void> {
  await applyStatements(d1, statements);
  await runUpgradesToGrace(d1);
}

/** `statements` in one batch: a schema with no online upgrade to run (the directory's). */
export async function applyStatements(d1: D1Database, statements: string[]): Promise<void> {
  await d1.batch(statements.map((sql) => d1.prepare(sql)));
}

/**
 * Runs the online upgrades (worker/upgrades) as a deployment's Cron would, until they are
 * done or wait: past the swap, the cleanup waits out a grace before it drops the old index
 * tables. Always to that point, however long each run's budget lets it go.
 */
export async function runUpgradesToGrace(d1: D1Database): Promise<void> {
  let before = "";
  for (let runs = 0; runs <= 100; runs++) {
    const progress = await runShardUpgrades(d1, 5_000);
    const state = JSON.stringify(await readState(d1));
    if (progress.done || (progress.phase === "cleanup" && state === before)) return;
    before = state;
  }
  throw new Error("the schema upgrade did not finish");
}
