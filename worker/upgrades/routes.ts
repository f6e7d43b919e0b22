import * as v from "valibot";
import { router } from "../app";
import { route } from "../auth/route";
import { runUpgrades } from "./run";

const tags = ["Platform"];
/** How long one request takes the upgrade on: a few bounded steps. */
const REQUEST_BUDGET_MS = 1_000;

const Progress = v.object({
  name: v.string(),
  phase: v.picklist(["none", "copy-members", "copy-events", "swap", "cleanup", "done"]),
  copied: v.number(),
  done: v.boolean(),
});
const progress = { description: "Where the online schema upgrade stands", schema: Progress };

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
    async (c) => c.json(await runUpgrades(c.env.DB, 0)),
  )
  .post(
    "/",
    route({
      summary: "Take the online schema upgrade on for about a second (platform token)",
      description:
        "Migrations that would rewrite every member run as an online upgrade in bounded batches (about 50 ms of D1 time each) from the five-minute Cron Trigger; this runs some of it now, e.g. right after applying migrations. Call it again until `done`, or until `phase` is `cleanup` (the new tables are live; the old ones are emptied later).",
      tags,
      auth: "platform",
      responses: { 200: progress },
    }),
    async (c) => c.json(await runUpgrades(c.env.DB, REQUEST_BUDGET_MS)),
  );
