import { router } from "../app";
import { route } from "../auth/route";
import { runUpgrades } from "./run";
import { UpgradeProgress } from "./schema";

const tags = ["Platform"];
/** How long one request takes the upgrade on: a few bounded steps. */
const REQUEST_BUDGET_MS = 1_000;

const progress = { description: "Where the online upgrades stand, on every shard", schema: UpgradeProgress };

/** Mounted under /v1/platform/upgrades. */
export const upgrades = router()
  .get(
    "/",
    route({
      summary: "Where the online schema upgrade stands (platform token)",
      tags,
      auth: "platform",
      responses: { 200: progress },
    }),
    async (c) => c.json(await runUpgrades(c.env, 0)),
  )
  .post(
    "/",
    route({
      summary: "Take the online schema upgrade on for about a second (platform token)",
      description:
        "Migrations that would rewrite every member run as an online upgrade in bounded batches (about 50 ms of D1 time each) from the five-minute Cron Trigger, on every shard at once; this runs some of it now, e.g. right after applying migrations (`npm run db:migrate`). It also registers in the directory the workspaces shard 0 held before there was one. Call it again until `done`, or until `phase` is `cleanup` (the new tables are live on every shard; the old ones are emptied later) and `registration.done`.",
      tags,
      auth: "platform",
      responses: { 200: progress },
    }),
    async (c) => c.json(await runUpgrades(c.env, REQUEST_BUDGET_MS)),
  );
