// `npm run bench:isolation`: does one workspace's bulk work stall another's writes? Under
// one `wrangler dev` (one local D1, which runs one query at a time, as D1 does), workspace
// B's writers create members (POST /v1/members, BENCH_WRITERS at once, default 4), first
// alone for BENCH_ALONE_SECONDS (default 15), then while workspace A imports BENCH_ROWS
// rows (default 200,000; the CSV of bench:import), from the upload's 202 until the import
// ends. Prints B's write latency (p50/p95/p99) alone and during the import, the ratio of
// the p99s (the goal: at most 3x), A's import rows/s, and the longest D1 transaction the
// import ran: the server runs with DEBUG_METRICS=1, so each bounded batch logs its D1
// time (worker/lib/bounded.ts `logBatch`), read back from the server's log. Writes
// bench/out/isolation.md.
//
// BENCH_ISOLATION_MAX_SECONDS (default 600): past it the import is left, and reported as
// far as it got.
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { boundedBatches, devServers } from "./dev-server.mjs";
import { api, uploadCsv } from "./http.mjs";
import { writeCsv } from "./import-data.mjs";

const ROWS = Number(process.env.BENCH_ROWS ?? 200_000);
const WRITERS = Number(process.env.BENCH_WRITERS ?? 4);
const ALONE_SECONDS = Number(process.env.BENCH_ALONE_SECONDS ?? 15);
const MAX_SECONDS = Number(process.env.BENCH_ISOLATION_MAX_SECONDS ?? 600);
const POLL_MS = 500;
const GOAL_RATIO = 3;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const outDir = path.join(root, "bench", "out");
const env = { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" };
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const log = (...args) => console.error("[bench:isolation]", ...args);
const count = (n) => n.toLocaleString("en-US");

const percentile = (values, p) => [...values].sort((a, b) => a - b)[Math.floor(p * (values.length - 1))] ?? 0;

/** D1's own time (ms) from a `Server-Timing: d1;dur=..` header (worker/lib/d1-metrics.ts). */
function d1Duration(header) {
  const match = /d1;dur=([\d.]+)/.exec(header ?? "");
  return match ? Number(match[1]) : null;
}

/**
 * `WRITERS` loops, each creating members in workspace B one after the other until
 * `stop()` says so; answers every write's latency (ms) and D1 time (ms).
 */
async function writers(url, key, tag, stop) {
  const latencies = [];
  const d1 = [];
  let n = 0;
  const writer = async (w) => {
    while (!stop()) {
      const i = n++;
      const started = performance.now();
      const res = await fetch(`${url}/v1/members`, {
        method: "POST",
        headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
        body: JSON.stringify({ name: `Writer ${w} ${tag} ${i}`, email: `w${w}-${tag}-${i}@b.bench.test` }),
      });
      const text = await res.text();
      const ms = performance.now() - started;
      if (res.status !== 201) throw new Error(`POST /v1/members: ${res.status} ${text.slice(0, 300)}`);
      latencies.push(ms);
      const dur = d1Duration(res.headers.get("server-timing"));
      if (dur !== null) d1.push(dur);
    }
  };
  await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
  return { latencies, d1 };
}

function summary(latencies) {
  return {
    n: latencies.length,
    p50: percentile(latencies, 0.5),
    p95: percentile(latencies, 0.95),
    p99: percentile(latencies, 0.99),
    max: Math.max(0, ...latencies),
  };
}

async function main() {
  mkdirSync(outDir, { recursive: true });
  const servers = devServers({ root, outDir, env });
  const deadline = setTimeout(
    async () => {
      console.error("bench:isolation: gave up");
      await servers.stopAll();
      process.exit(1);
    },
    (ALONE_SECONDS + MAX_SECONDS + 300) * 1000,
  );
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.once(signal, async () => {
      await servers.stopAll();
      process.exit(130);
    });
  }
  try {
    const file = path.join(outDir, `isolation-${ROWS}.csv`);
    const size = await writeCsv(file, ROWS);
    log(`wrote ${file} (${(size / 1024 / 1024).toFixed(1)} MB)`);
    const load = { before: loadavg()[0] };
    const source = servers.snapshot("bench-isolation-src-");
    const platformToken = randomBytes(18).toString("base64url");
    const name = "isolation";
    const server = await servers.startWrangler(name, {
      cwd: source,
      vars: [`PLATFORM_TOKEN:${platformToken}`, "DEBUG_METRICS:1"],
      migrate: true,
    });
    const workspace = (slug) =>
      api(server.url, "POST", "/v1/workspaces", platformToken, {
        name: slug,
        slug,
        owner: { name: "Owner", email: `owner@${slug}.bench.test` },
      });
    const a = await workspace("bench-a");
    const b = await workspace("bench-b");

    // Warm up (first requests compile and cache), unmeasured.
    let warm = 0;
    await writers(server.url, b.apiKey, "warm", () => warm++ >= 4 * WRITERS);

    log(`B alone for ${ALONE_SECONDS} s, ${WRITERS} writers`);
    const aloneUntil = performance.now() + ALONE_SECONDS * 1000;
    const alone = await writers(server.url, b.apiKey, "alone", () => performance.now() >= aloneUntil);

    log(`A imports ${count(ROWS)} rows; B writes meanwhile`);
    const uploadStarted = performance.now();
    const answer = await uploadCsv(server.url, a.apiKey, file, "user");
    if (answer.status !== 202) throw new Error(`POST /v1/imports: ${answer.status} ${answer.text.slice(0, 500)}`);
    const { id } = JSON.parse(answer.text);
    const started = performance.now();
    log(`uploaded in ${((started - uploadStarted) / 1000).toFixed(1)} s as ${id}`);
    let state = { status: "running", processed: 0 };
    const during = writers(server.url, b.apiKey, "during", () => state.status !== "running");
    let reported = 0;
    let ended = started;
    try {
      for (;;) {
        state = await api(server.url, "GET", `/v1/imports/${id}`, a.apiKey);
        ended = performance.now();
        if (state.status !== "running") break;
        const elapsed = (ended - started) / 1000;
        if (elapsed > MAX_SECONDS) {
          state = { ...state, status: "left running" };
          break;
        }
        if (elapsed - reported >= 15) {
          reported = elapsed;
          log(`${count(state.processed)} rows after ${elapsed.toFixed(0)} s`);
        }
        await sleep(POLL_MS);
      }
    } finally {
      if (state.status === "running") state = { ...state, status: "stopped" };
    }
    const duringResult = await during;
    const seconds = (ended - started) / 1000;
    load.after = loadavg()[0];
    await server.stop();
    const batches = boundedBatches(path.join(outDir, `${name}.log`), "import");
    const result = {
      alone: { ...summary(alone.latencies), d1: percentile(alone.d1, 0.5) },
      during: { ...summary(duringResult.latencies), d1: percentile(duringResult.d1, 0.5) },
      state,
      seconds,
      batches,
      load,
    };
    const markdown = table(result);
    writeFileSync(path.join(outDir, "isolation.md"), markdown);
    console.log(`\n${markdown}`);
    if (state.status !== "completed" || state.failed > 0) throw new Error(`the import ended ${state.status}`);
    process.exitCode = 0;
  } catch (err) {
    console.error(`bench:isolation failed: ${err instanceof Error ? err.stack : String(err)}`);
    process.exitCode = 1;
  } finally {
    clearTimeout(deadline);
    await servers.stopAll();
    process.exit(process.exitCode);
  }
}

function table({ alone, during, state, seconds, batches, load }) {
  const ms = (n) => `${n.toFixed(0)} ms`;
  const ratio = during.p99 / alone.p99;
  const durations = batches.map((b) => b.ms);
  const walls = batches.flatMap((b) => (b.wallMs === undefined ? [] : [b.wallMs]));
  const rowsPer = batches.map((b) => b.rows);
  const lines = [
    `B's writes (POST /v1/members, ${WRITERS} writers) alone for ${ALONE_SECONDS} s, then while A imports ` +
      `${count(ROWS)} rows, under one \`wrangler dev\` (${cpus().length} CPUs, load ${load.before.toFixed(1)} → ` +
      `${load.after.toFixed(1)}):`,
    "",
    "| B's writes | n | p50 | p95 | p99 | max | D1 time a write (p50) |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    `| alone | ${count(alone.n)} | ${ms(alone.p50)} | ${ms(alone.p95)} | ${ms(alone.p99)} | ${ms(alone.max)} | ${alone.d1.toFixed(1)} ms |`,
    `| during A's import | ${count(during.n)} | ${ms(during.p50)} | ${ms(during.p95)} | ${ms(during.p99)} | ${ms(during.max)} | ${during.d1.toFixed(1)} ms |`,
    "",
    `- p99 during / p99 alone: **${ratio.toFixed(1)}x** (goal: at most ${GOAL_RATIO}x).`,
    `- A's import: ${state.status}, ${count(state.processed)} rows in ${seconds.toFixed(1)} s from the upload's 202: ` +
      `**${count(Math.round(state.processed / seconds))} rows/s**.`,
    batches.length > 0
      ? `- A's import ran ${count(batches.length)} D1 transactions (meta.duration, logged by the server): longest ` +
        `**${ms(Math.max(...durations))}**, p99 ${ms(percentile(durations, 0.99))}, p95 ${ms(percentile(durations, 0.95))}, p50 ${ms(percentile(durations, 0.5))}; ` +
        `rows a transaction p50 ${count(percentile(rowsPer, 0.5))}, max ${count(Math.max(...rowsPer))}` +
        (walls.length > 0
          ? `; a batch's round trip (its commit included, which meta.duration leaves out): p50 ${ms(percentile(walls, 0.5))}, ` +
            `p99 ${ms(percentile(walls, 0.99))}, longest ${ms(Math.max(...walls))}.`
          : ".")
      : "- A's import logged no transactions (a version of the server without `logBatch`).",
    "",
  ];
  return lines.join("\n");
}

await main();
