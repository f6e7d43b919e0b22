import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { runUpgrades } from "../worker/upgrades/run";

// Setup files run before each test file; applying migrations is idempotent. The online
// upgrades they start (worker/upgrades) are taken to their swap, as a deployment's Cron would.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
for (let runs = 0; ; runs++) {
  const progress = await runUpgrades(env.DB, 5_000);
  if (progress.done || progress.phase === "cleanup") break;
  if (runs > 100) throw new Error(`the schema upgrade did not finish: ${JSON.stringify(progress)}`);
}
