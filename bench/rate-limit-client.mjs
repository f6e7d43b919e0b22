// What counting requests without a workspace credential costs (worker/rate-limits/limit.ts:
// a client IP's RateCounter object): the same calls (a 401 with no credential, a public
// route's answer) against two `wrangler dev` servers, this tree and the same tree with the
// files of this change as they are at BASE (default: main), so the only difference is the
// count. Calls alternate between the servers, so both see the same load of this shared
// machine. Prints the median and p90 wall time of each and their ratio.
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { devServers } from "./dev-server.mjs";

const CALLS = Number(process.env.CALLS ?? 300);
const BASE = process.env.BASE ?? "main";
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const outDir = path.join(root, "bench", "out");
const env = { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" };
const token = `bench-${crypto.randomUUID()}`;
const { startWrangler, snapshot, stopAll } = devServers({ root, outDir, env });
const CHANGED = [
  "wrangler.toml",
  "worker/index.ts",
  "worker/auth/route.ts",
  "worker/rate-limits/limit.ts",
  "worker/lib/rate-limit.ts",
  "worker/join-requests/routes.ts",
];

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

const CASES = {
  "401 (no credential)": { method: "GET", path: "/v1/members", status: 401 },
  // A new IP for each call: the route's flood protection allows one IP 10 a minute; and each
  // call then meets a new counter object, the costly case.
  "public route (verify, bad token, new IP each)": {
    freshIp: true,
    method: "POST",
    path: "/v1/auth/verify",
    // A new token each call too: the flood protection allows one link 5 tries a minute.
    body: () => JSON.stringify({ token: `not-a-token-${crypto.randomUUID()}` }),
    status: 400,
  },
};

let n = 0;
async function timed(url, spec, fixedIp) {
  const ip = spec.freshIp ? `10.${(++n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}` : fixedIp;
  const start = performance.now();
  const res = await fetch(`${url}${spec.path}`, {
    method: spec.method,
    headers: { "CF-Connecting-IP": ip, ...(spec.body && { "Content-Type": "application/json" }) },
    body: spec.body?.(),
  });
  await res.text();
  if (res.status >= 500 || res.status === 429) throw new Error(`${spec.path}: ${res.status}`);
  return { ms: performance.now() - start, limited: res.headers.has("RateLimit") };
}

try {
  mkdirSync(outDir, { recursive: true });
  const baseDir = snapshot("bench-rate-client-base-");
  for (const file of CHANGED) {
    writeFileSync(path.join(baseDir, file), execFileSync("git", ["show", `${BASE}:${file}`], { cwd: root }));
  }
  rmSync(path.join(baseDir, "durable-objects/rate-counter.ts"), { force: true });
  const vars = [`PLATFORM_TOKEN:${token}`];
  const [ours, base] = [
    await startWrangler("rate-client-ours", {
      cwd: snapshot("bench-rate-client-ours-"),
      vars: [...vars, "CLIENT_RATE_LIMIT_PER_MINUTE:1000000"],
      migrate: true,
    }),
    await startWrangler("rate-client-base", { cwd: baseDir, vars, migrate: true }),
  ];
  const lines = [
    "| case | counted median | base median | ratio | counted p90 | base p90 | ratio |",
    "|---|---|---|---|---|---|---|",
  ];
  const f = (ms) => `${ms.toFixed(2)} ms`;
  for (const [name, spec] of Object.entries(CASES)) {
    // One IP per server and case, as one client would; warmed first (isolates, the IP's object).
    const ips = { ours: `10.9.0.${Object.keys(CASES).indexOf(name) + 1}`, base: "10.9.1.1" };
    for (let i = 0; i < 20; i++) await Promise.all([timed(ours.url, spec, ips.ours), timed(base.url, spec, ips.base)]);
    const times = { ours: [], base: [] };
    for (let i = 0; i < CALLS; i++) {
      for (const which of i % 2 === 0 ? ["ours", "base"] : ["base", "ours"]) {
        const { ms, limited } = await timed(which === "ours" ? ours.url : base.url, spec, ips[which]);
        if (limited !== (which === "ours")) throw new Error(`${which}: RateLimit ${limited ? "present" : "absent"}`);
        times[which].push(ms);
      }
    }
    const s = Object.fromEntries(
      Object.entries(times).map(([k, list]) => {
        const sorted = list.sort((a, b) => a - b);
        return [k, { median: quantile(sorted, 0.5), p90: quantile(sorted, 0.9) }];
      }),
    );
    lines.push(
      `| ${name} (${CALLS} calls each) | ${f(s.ours.median)} | ${f(s.base.median)} | ${(s.ours.median / s.base.median).toFixed(2)} | ${f(s.ours.p90)} | ${f(s.base.p90)} | ${(s.ours.p90 / s.base.p90).toFixed(2)} |`,
    );
  }
  console.log(lines.join("\n"));
  writeFileSync(path.join(outDir, "rate-limit-client.md"), `${lines.join("\n")}\n`);
} finally {
  await stopAll();
}
