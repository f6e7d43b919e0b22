// What counting each request against its credential's rate limit costs (worker/rate-limits):
// the same authenticated calls against two `wrangler dev` servers, this tree and the same
// tree with worker/auth/route.ts as it was at BASE (default: main, before rate limits), so
// the only difference is the count in the workspace's Durable Object. Calls alternate
// between the two servers, so both see the same load of this shared machine. Prints
// the median and p90 wall time of each and their ratio.
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { devServers } from "./dev-server.mjs";
import { api } from "./http.mjs";

const CALLS = Number(process.env.CALLS ?? 400);
const BASE = process.env.BASE ?? "main";
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const outDir = path.join(root, "bench", "out");
const env = { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" };
const token = `bench-${crypto.randomUUID()}`;
const { startWrangler, snapshot, stopAll } = devServers({ root, outDir, env });

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

/** A workspace whose limit no run reaches, and its owner's key. */
async function workspaceOn(url) {
  const slug = `bench-${crypto.randomUUID().slice(0, 8)}`;
  const body = { name: slug, slug, owner: { name: "Owner", email: `owner@${slug}.test` } };
  const created = await api(url, "POST", "/v1/workspaces", token, body);
  return created.apiKey;
}

async function timed(url, key) {
  const start = performance.now();
  const res = await fetch(`${url}/v1/workspace`, { headers: { Authorization: `Bearer ${key}` } });
  await res.text();
  if (!res.ok) throw new Error(`GET /v1/workspace: ${res.status}`);
  return { ms: performance.now() - start, limited: res.headers.has("RateLimit") };
}

try {
  mkdirSync(outDir, { recursive: true });
  const baseDir = snapshot("bench-rate-base-");
  const route = execFileSync("git", ["show", `${BASE}:worker/auth/route.ts`], { cwd: root });
  writeFileSync(path.join(baseDir, "worker/auth/route.ts"), route);
  const vars = [`PLATFORM_TOKEN:${token}`];
  const [ours, base] = [
    await startWrangler("rate-ours", { cwd: snapshot("bench-rate-ours-"), vars, migrate: true }),
    await startWrangler("rate-base", { cwd: baseDir, vars, migrate: true }),
  ];
  const keys = { ours: await workspaceOn(ours.url), base: await workspaceOn(base.url) };
  // Above the calls made, so none is refused.
  await api(ours.url, "PATCH", "/v1/workspace", keys.ours, { rateLimitPerMinute: 100_000 });
  // Warm both (isolates, the workspace's object, D1) before measuring.
  for (let i = 0; i < 30; i++) await Promise.all([timed(ours.url, keys.ours), timed(base.url, keys.base)]);
  const times = { ours: [], base: [] };
  for (let i = 0; i < CALLS; i++) {
    const [first, second] = i % 2 === 0 ? ["ours", "base"] : ["base", "ours"];
    for (const name of [first, second]) {
      const { ms, limited } = await timed(name === "ours" ? ours.url : base.url, keys[name]);
      if (limited !== (name === "ours")) throw new Error(`${name}: RateLimit header ${limited ? "present" : "absent"}`);
      times[name].push(ms);
    }
  }
  const stats = Object.fromEntries(
    Object.entries(times).map(([name, list]) => {
      const sorted = list.sort((a, b) => a - b);
      return [name, { median: quantile(sorted, 0.5), p90: quantile(sorted, 0.9) }];
    }),
  );
  const f = (ms) => `${ms.toFixed(2)} ms`;
  const lines = [
    `| GET /v1/workspace (${CALLS} calls each) | median | p90 |`,
    "|---|---|---|",
    `| counted (this tree) | ${f(stats.ours.median)} | ${f(stats.ours.p90)} |`,
    `| not counted (route.ts at ${BASE}) | ${f(stats.base.median)} | ${f(stats.base.p90)} |`,
    `| ratio | ${(stats.ours.median / stats.base.median).toFixed(2)} | ${(stats.ours.p90 / stats.base.p90).toFixed(2)} |`,
  ];
  console.log(lines.join("\n"));
  writeFileSync(path.join(outDir, "rate-limit.md"), `${lines.join("\n")}\n`);
} finally {
  await stopAll();
}
