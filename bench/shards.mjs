// `npm run bench:shards`: what finding a workspace's shard costs a request. One `wrangler dev`
// (own state, a frozen bundle: bench/dev-server.mjs) with the directory and two shards;
// WORKSPACES workspaces spread over the shards, each with a few members. Then, in one run,
// GET /v1/members alternately:
// - warm: one workspace, asked every other request, so its shard is in the isolate's cache
//   (worker/shards/directory.ts, SHARD_CACHE_MS = 5 s) at every request;
// - cold: the others in turn, each asked again only after more than 5 s, so every request
//   reads the directory first (one D1 batch: the workspace's row and the registration state).
// Both are paced alike (PACE_MS apart), so the isolate and the databases see the same load.
// Prints p50/p90 of each, their difference, and D1's rows read per request (Server-Timing,
// DEBUG_METRICS=1), which include the directory's rows.
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { devServers } from "./dev-server.mjs";
import { api } from "./http.mjs";

const WORKSPACES = Number(process.env.BENCH_WORKSPACES ?? 41);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const PACE_MS = 70;
const CACHE_MS = 5_000;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const stats = (samples) => {
  const ms = samples.map((s) => s.ms).sort((a, b) => a - b);
  const rows = samples.map((s) => s.rowsRead).sort((a, b) => a - b);
  return { n: ms.length, p50: quantile(ms, 0.5), p90: quantile(ms, 0.9), rowsRead: quantile(rows, 0.5) };
};

async function timedList(url, key) {
  const started = performance.now();
  const res = await fetch(`${url}/v1/members?limit=50`, { headers: { Authorization: `Bearer ${key}` } });
  await res.arrayBuffer();
  const ms = performance.now() - started;
  if (!res.ok) throw new Error(`GET /v1/members: ${res.status}`);
  const timing = /rows_read=(\d+)/.exec(res.headers.get("Server-Timing") ?? "");
  return { ms, rowsRead: Number(timing?.[1] ?? Number.NaN) };
}

async function main() {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
  const outDir = path.join(root, "bench", "out");
  mkdirSync(outDir, { recursive: true });
  const env = { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" };
  const { startWrangler, snapshot, stopAll } = devServers({ root, outDir, env });
  try {
    const load = { before: loadavg()[0] };
    const token = randomBytes(18).toString("base64url");
    const { url } = await startWrangler("shards", {
      cwd: snapshot("bench-shards-src-"),
      vars: [`PLATFORM_TOKEN:${token}`, "DEBUG_METRICS:1"],
      migrate: true,
    });
    const keys = [];
    const onShard = [0, 0];
    for (let i = 0; i < WORKSPACES; i++) {
      const slug = `bench-${i}-${Date.now().toString(36)}`;
      const created = await api(url, "POST", "/v1/workspaces", token, {
        name: `Bench ${i}`,
        slug,
        owner: { name: "Owner", email: `owner@${slug}.test` },
      });
      onShard[created.workspace.shard] += 1;
      for (let m = 0; m < 5; m++) {
        await api(url, "POST", "/v1/members", created.apiKey, { name: `Member ${m}`, email: `m${m}@${slug}.test` });
      }
      keys.push(created.apiKey);
    }
    const [warmKey, ...coldKeys] = keys;
    // Every workspace's cache entry has lapsed before the first cold request.
    await sleep(CACHE_MS + 500);
    const warm = [];
    const cold = [];
    const lastAsked = new Map();
    for (let round = 0; round < ROUNDS; round++) {
      for (const coldKey of coldKeys) {
        const since = Date.now() - (lastAsked.get(coldKey) ?? 0);
        if (since <= CACHE_MS) await sleep(CACHE_MS - since + 100);
        warm.push(await timedList(url, warmKey));
        await sleep(PACE_MS);
        cold.push(await timedList(url, coldKey));
        lastAsked.set(coldKey, Date.now());
        await sleep(PACE_MS);
      }
    }
    load.after = loadavg()[0];
    const w = stats(warm.slice(1)); // its first request found no cache entry either
    const c = stats(cold);
    const lines = [
      "| GET /v1/members (50 a page) | requests | p50 ms | p90 ms | D1 rows read (p50) |",
      "|---|---|---|---|---|",
      `| shard cached in the isolate (warm) | ${w.n} | ${w.p50.toFixed(1)} | ${w.p90.toFixed(1)} | ${w.rowsRead} |`,
      `| directory read first (cold) | ${c.n} | ${c.p50.toFixed(1)} | ${c.p90.toFixed(1)} | ${c.rowsRead} |`,
      `| difference | | ${(c.p50 - w.p50).toFixed(1)} | ${(c.p90 - w.p90).toFixed(1)} | ${c.rowsRead - w.rowsRead} |`,
      "",
      `${WORKSPACES} workspaces (${onShard[0]} on shard 0, ${onShard[1]} on shard 1, placed by most room), ` +
        `requests ${PACE_MS} ms apart, one wrangler dev; load average ${load.before.toFixed(2)} before, ${load.after.toFixed(2)} after.`,
    ];
    const markdown = `${lines.join("\n")}\n`;
    writeFileSync(path.join(outDir, "shards.md"), markdown);
    console.log(`\n${markdown}`);
  } finally {
    await stopAll();
  }
}

main().catch((err) => {
  console.error(`bench:shards failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
