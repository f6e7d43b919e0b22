/**
 * Takes the online schema upgrades that migrations start (worker/upgrades) to the point
 * where the new tables are live on every shard, and shard 0's older workspaces are in the
 * directory, through `POST /v1/platform/upgrades` on a running `wrangler dev`: a
 * deployment's Cron Trigger does it in production. Right after the migrations of empty
 * databases, that is one call.
 * @param {string} base the server's URL
 * @param {string} platformToken
 */
export async function finishUpgrades(base, platformToken) {
  for (let calls = 0; calls < 1000; calls++) {
    const res = await fetch(`${base}/v1/platform/upgrades`, {
      method: "POST",
      headers: { Authorization: `Bearer ${platformToken}` },
    });
    if (!res.ok) throw new Error(`POST /v1/platform/upgrades: ${res.status} ${await res.text()}`);
    const progress = await res.json();
    if ((progress.done || progress.phase === "cleanup") && progress.registration?.done !== false) return progress;
  }
  throw new Error("the schema upgrade did not finish");
}
