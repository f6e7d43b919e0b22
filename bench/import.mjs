// `npm run bench:import`: CSV imports through `wrangler dev`. Generates CSVs of 100,000
// and 1,000,000 members (email, phone, external_id, name, description, labels; unique
// identifiers, a few labels), streamed to bench/out/import-<rows>.csv; uploads each as a
// stream (POST /v1/imports?role=user, text/csv) to a fresh server, polls GET
// /v1/imports/{id} until it ends, and samples the RSS of the server's workerd processes
// every 500 ms. The floor: the same 100,000 rows read from the same file into a plain
// SQLite file with node:sqlite (one transaction, a prepared INSERT, the same unique
// indexes); and the floor with our schema, the same rows into a SQLite file with our
// migrations by the import's member insert and events (both in bench/import-floors.mjs).
// Prints a Markdown table and writes it to bench/out/import.md, with the RSS samples in
// bench/out/import-rss-<rows>.csv.
//
// At the end of each import, the size of the local D1's SQLite file and what each table
// (with its indexes) takes per member.
//
// BENCH_IMPORT_HEAP=1: also, before the upload, at each tenth of the rows and at the end,
// read the Worker's isolate heap over the DevTools protocol (`wrangler dev --inspector-port`)
// before and after a forced garbage collection, with the workerd RSS at the same moments:
// the heap left after a collection is what our code keeps alive; the rest of the RSS is
// garbage not yet collected and what workerd itself holds, the local D1's SQLite among it.
// Off by default: it slows the import more than its pauses (median 70-155 ms a sample)
// explain: 100,000 rows took 9-20% more workerd CPU with it (two runs each way, load 2-4).
//
// BENCH_IMPORT_ROWS: the datasets (default "100000,1000000"). BENCH_IMPORT_MAX_SECONDS
// (default 600): past it an import is left, and reported as far as it got.
import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { fileURLToPath } from "node:url";
import { boundedBatches, devServers } from "./dev-server.mjs";
import { collectGarbage, devtools } from "./devtools.mjs";
import { api, uploadCsv } from "./http.mjs";
import { writeCsv } from "./import-data.mjs";
import { floor, schemaFloor } from "./import-floors.mjs";

const DATASETS = (process.env.BENCH_IMPORT_ROWS ?? "100000,1000000").split(",").map(Number);
const MAX_SECONDS = Number(process.env.BENCH_IMPORT_MAX_SECONDS ?? 600);
const HEAP = process.env.BENCH_IMPORT_HEAP === "1";
const FLOOR_ROWS = 100_000;
/**
 * Rows a transaction for the schema floor: the server's window (WINDOW_ROWS in
 * worker/imports/chunk.ts), which it commits in chunks of bounded D1 time.
 */
const CHUNK_ROWS = 5000;
const SAMPLE_MS = 500;
const POLL_MS = 500;
const ROLE = "user";
/** What the server takes (MAX_UPLOAD_BYTES in worker/imports/upload.ts). */
const MAX_UPLOAD_BYTES = 100 * 1024 * 1024;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const outDir = path.join(root, "bench", "out");
const env = { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" };
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const log = (...args) => console.error("[bench:import]", ...args);

// --- workerd memory -----------------------------------------------------------------

/** The workerd processes of a process group, from /proc. */
function workerdPids(pgid) {
  const pids = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      const comm = stat.slice(stat.indexOf("(") + 1, close);
      const pgrp = Number(stat.slice(close + 2).split(" ")[2]);
      if (pgrp === pgid && comm.startsWith("workerd")) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/**
 * The summed RSS (bytes) of `pids` from /proc/<pid>/status, and its anonymous part (the
 * heap; the rest is mapped files, such as the local D1 and R2 storage workerd holds).
 */
function rssOf(pids) {
  let kb = 0;
  let anonKb = 0;
  for (const pid of pids) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, "utf8");
      kb += Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0);
      anonKb += Number(/^RssAnon:\s+(\d+) kB/m.exec(status)?.[1] ?? 0);
    } catch {
      // gone meanwhile
    }
  }
  return { rss: kb * 1024, anon: anonKb * 1024 };
}

/**
 * CPU seconds (user + system) the processes have used so far, from /proc/<pid>/stat:
 * on a shared machine, wall time depends on the neighbours; CPU time much less.
 */
function cpuSecondsOf(pids) {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // gone meanwhile
    }
  }
  // USER_HZ is 100 on Linux.
  return ticks / 100;
}

/** Samples the group's workerd RSS every SAMPLE_MS; `progress()` labels each sample. */
function sampler(pgid, progress) {
  const samples = [];
  const started = performance.now();
  let pids = workerdPids(pgid);
  let ticks = 0;
  samples.push({ t: 0, ...rssOf(pids), processed: progress() });
  const timer = setInterval(() => {
    // The processes are looked up again now and then, in case workerd restarts.
    if (++ticks % 10 === 0 || pids.length === 0) pids = workerdPids(pgid);
    samples.push({ t: (performance.now() - started) / 1000, ...rssOf(pids), processed: progress() });
  }, SAMPLE_MS);
  return {
    stop() {
      clearInterval(timer);
      return samples;
    },
  };
}

// --- the Worker's isolate heap ------------------------------------------------------

/**
 * Samples the Worker isolate's heap before and after a forced collection, and the workerd
 * RSS (every workerd process of the server, as the RSS column) at the same moments.
 *
 * Through wrangler's inspector proxy, which lists one target: workerd's
 * `core:user:<name>` isolate, the Worker with its Durable Objects. The local D1, R2 and
 * queues are other isolates of the same workerd process (workerd's own inspector lists
 * them; bench/import-isolates.mjs collects them), and D1's SQLite is native memory of that
 * process, in no isolate's heap.
 */
async function heapProbe(server) {
  const targets = await (await fetch(`http://127.0.0.1:${server.inspectorPort}/json`)).json();
  const target = targets.find((t) => t.webSocketDebuggerUrl);
  if (!target) throw new Error(`no inspector target at port ${server.inspectorPort}: ${JSON.stringify(targets)}`);
  const session = await devtools(target.webSocketDebuggerUrl);
  const wake = () => {
    fetch(`${server.url}/healthz`).then(
      (res) => res.body?.cancel(),
      () => {},
    );
  };
  return {
    target: target.title,
    async sample(processed) {
      const pids = workerdPids(server.pgid);
      const rssBefore = rssOf(pids).rss;
      const before = await session.send("Runtime.getHeapUsage");
      const gcMs = await collectGarbage(session, { wake });
      const after = await session.send("Runtime.getHeapUsage");
      return {
        processed,
        rssBefore,
        rssAfter: rssOf(pids).rss,
        heapBefore: before.usedSize,
        heapAfter: after.usedSize,
        buffersAfter: after.backingStorageSize,
        gcMs,
      };
    },
    close: session.close,
  };
}

/** The local D1's SQLite file (with its write-ahead log) in a `wrangler dev` state folder. */
function d1Files(state) {
  const dir = path.join(state, "v3", "d1", "miniflare-D1DatabaseObject");
  const db = readdirSync(dir).find((file) => file.endsWith(".sqlite") && file !== "metadata.sqlite");
  if (!db) throw new Error(`no D1 database in ${dir}`);
  const size = (file) => {
    try {
      return statSync(file).size;
    } catch {
      return 0;
    }
  };
  const file = path.join(dir, db);
  return { file, bytes: size(file), walBytes: size(`${file}-wal`) };
}

/**
 * Bytes per member of the largest tables of the D1 file, each with its indexes (SQLite's
 * dbstat), read once the server has stopped.
 */
function d1Tables(file) {
  // workerd may still be closing it: wait for its lock.
  const db = new DatabaseSync(file, { readOnly: true, timeout: 30_000 });
  try {
    const { members } = db.prepare("SELECT count(*) AS members FROM members").get();
    const tables = db
      .prepare(
        `SELECT coalesce(s.tbl_name, d.name) AS name, sum(d.pgsize) AS bytes
         FROM dbstat AS d LEFT JOIN sqlite_schema AS s ON s.name = d.name
         GROUP BY 1 ORDER BY 2 DESC LIMIT 4`,
      )
      .all();
    return { members, tables };
  } finally {
    db.close();
  }
}

// --- one import ---------------------------------------------------------------------

async function runImport(servers, source, rows, file) {
  const platformToken = randomBytes(18).toString("base64url");
  const server = await servers.startWrangler(`import-${rows}`, {
    cwd: source,
    // DEBUG_METRICS: each chunk logs its D1 time and round trip (worker/lib/bounded.ts `logBatch`).
    vars: [`PLATFORM_TOKEN:${platformToken}`, "DEBUG_METRICS:1"],
    migrate: true,
  });
  let heap = null;
  let result;
  try {
    const { apiKey } = await api(server.url, "POST", "/v1/workspaces", platformToken, {
      name: "Bench",
      slug: "bench",
      owner: { name: "Owner", email: "owner@bench.test" },
    });
    /** Heap samples: before the upload, at each tenth of the rows, at the end. */
    const heapSamples = [];
    if (HEAP) {
      heap = await heapProbe(server);
      log(`${rows}: inspecting "${heap.target}"`);
      heapSamples.push(await heap.sample(0));
    }
    let processed = 0;
    const cpuBefore = cpuSecondsOf(workerdPids(server.pgid));
    const rss = sampler(server.pgid, () => processed);
    const started = performance.now();
    const elapsed = () => (performance.now() - started) / 1000;
    let state;
    let uploadSeconds;
    let samples;
    /** How long each GET /v1/imports/{id} took (ms): progress must answer while chunks run. */
    const polls = [];
    try {
      const answer = await uploadCsv(server.url, apiKey, file, ROLE);
      uploadSeconds = elapsed();
      if (answer.status !== 202) throw new Error(`POST /v1/imports: ${answer.status} ${answer.text.slice(0, 500)}`);
      const { id } = JSON.parse(answer.text);
      log(`${rows}: uploaded in ${uploadSeconds.toFixed(1)} s as ${id}`);
      let reported = 0;
      let nextSample = rows / 10;
      for (;;) {
        const asked = performance.now();
        state = await api(server.url, "GET", `/v1/imports/${id}`, apiKey);
        polls.push(performance.now() - asked);
        processed = state.processed;
        if (state.status !== "running" || elapsed() > MAX_SECONDS) break;
        if (heap && processed >= nextSample) {
          heapSamples.push(await heap.sample(processed));
          nextSample = (Math.floor(processed / (rows / 10)) + 1) * (rows / 10);
        }
        if (elapsed() - reported >= 30) {
          reported = elapsed();
          log(`${rows}: ${processed} rows after ${reported.toFixed(0)} s`);
        }
        await sleep(POLL_MS);
      }
    } finally {
      samples = rss.stop();
    }
    const seconds = elapsed();
    const cpuSeconds = cpuSecondsOf(workerdPids(server.pgid)) - cpuBefore;
    if (heap) heapSamples.push(await heap.sample(processed));
    const d1 = d1Files(server.state);
    result = { rows, seconds, cpuSeconds, uploadSeconds, state, samples, polls, heapSamples, d1 };
    result.bounded = state.status === "running";
  } finally {
    heap?.close();
    await server.stop();
  }
  if (result) result.batches = boundedBatches(path.join(outDir, `import-${rows}.log`), "import");
  // Once the server has stopped: dbstat reads every page of the file.
  result.d1 = { ...result.d1, ...d1Tables(result.d1.file) };
  return result;
}

// --- report -------------------------------------------------------------------------

const mb = (bytes) => bytes / 1024 / 1024;
const count = (n) => n.toLocaleString("en-US");

function writeSamples(result) {
  const lines = result.samples.map((s) => `${s.t.toFixed(1)},${mb(s.rss).toFixed(1)},${s.processed}\n`);
  writeFileSync(
    path.join(outDir, `import-rss-${result.rows}.csv`),
    `seconds,workerd_rss_mb,processed\n${lines.join("")}`,
  );
}

const percentile = (values, p) => [...values].sort((a, b) => a - b)[Math.floor(p * (values.length - 1))] ?? 0;

/** RSS at tenths of the import's time, to see whether memory grows with the rows. */
function profile(samples, key) {
  const live = samples.filter((s) => s.rss > 0);
  if (live.length === 0) return "no samples";
  return [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    .map((tenth) => live[Math.max(0, Math.ceil((tenth / 10) * live.length) - 1)])
    .map((s) => `${mb(s[key]).toFixed(0)}`)
    .join(" → ");
}

/** Where an import's time went: its chunks' D1 time (meta.duration) and round trips against the whole. */
function chunkTimes(r) {
  const sum = (key) => r.batches.reduce((total, b) => total + (b[key] ?? 0), 0) / 1000;
  const ms = r.batches.map((b) => b.ms);
  const rows = r.batches.map((b) => b.rows).sort((a, b) => a - b);
  return (
    `  Its ${count(r.batches.length)} chunks (rows a chunk p50 ${count(rows[Math.floor(rows.length / 2)])}): ` +
    `D1 time (meta.duration) ${sum("ms").toFixed(1)} s in all, longest ${Math.max(...ms)} ms, p95 ${percentile(ms, 0.95)} ms; ` +
    `their round trips (the commit included) ${sum("wallMs").toFixed(1)} s of the import's ${r.seconds.toFixed(1)} s; ` +
    `the rest is the Worker's own work between batches (reading, parsing, planning, 5 ms given way a chunk).`
  );
}

function table(floorResult, schemaResult, results, load, sizes) {
  const floorRate = floorResult.rows / floorResult.seconds;
  const lines = [
    `CSV imports through \`wrangler dev\` (queue consumer, windows of up to 5,000 rows committed in chunks sized toward 50 ms of D1 time) against the floor: ` +
      `the same ${count(FLOOR_ROWS)} rows read from the same file into a plain SQLite file ` +
      `(node:sqlite, one transaction, a prepared INSERT, unique indexes on email, phone and external_id). ` +
      `Time from the first byte of the upload to status completed; ratio = floor rows/s ÷ rows/s. ` +
      `Load average ${load.before.toFixed(1)} before, ${load.after.toFixed(1)} after, on ${cpus().length} cores.`,
    "",
    "| dataset | rows | seconds | rows/s | peak workerd RSS MB | ratio to floor |",
    "| --- | ---: | ---: | ---: | ---: | ---: |",
    `| floor: node:sqlite, ${count(FLOOR_ROWS)} rows | ${count(floorResult.rows)} | ${floorResult.seconds.toFixed(2)} | ${count(Math.round(floorRate))} | n/a | 1.00x |`,
    `| floor with our schema: node:sqlite, ${count(FLOOR_ROWS)} rows | ${count(schemaResult.rows)} | ${schemaResult.seconds.toFixed(2)} | ${count(Math.round(schemaResult.rows / schemaResult.seconds))} | n/a | ${(schemaResult.seconds / floorResult.seconds).toFixed(2)}x |`,
  ];
  for (const r of results) {
    const rate = r.state.processed / r.seconds;
    const peak = Math.max(0, ...r.samples.map((s) => s.rss));
    const name = r.bounded
      ? `import ${count(r.rows)} (stopped at ${MAX_SECONDS} s, ${count(r.state.processed)} done)`
      : `import ${count(r.rows)} (${r.state.status})`;
    lines.push(
      `| ${name} | ${count(r.state.processed)} | ${r.seconds.toFixed(1)} | ${count(Math.round(rate))} | ${mb(peak).toFixed(0)} | ${(floorRate / rate).toFixed(2)}x |`,
    );
  }
  lines.push(
    "",
    `- floor: reading and parsing the file (csv-parse) alone takes ${floorResult.parseSeconds.toFixed(2)} s of its ${floorResult.seconds.toFixed(2)} s.`,
    `- floor with our schema: the same rows into a fresh SQLite file with every migration in \`migrations/\` applied, ` +
      `${count(CHUNK_ROWS)} rows a transaction by the import's own member insert and member.created events (bench/import-floors.mjs), ` +
      `so the triggers write ${count(schemaResult.searchRows)} search rows and the label and pair rows: what the schema costs ` +
      `in the floor's engine, before any Worker, queue, R2 or D1. Those two statements alone took ${schemaResult.sqlSeconds.toFixed(2)} s ` +
      `(${(schemaResult.sqlSeconds / floorResult.seconds).toFixed(2)}x the floor); the rest is reading the file and parsing the phones (libphonenumber-js), as the import does.`,
  );
  for (const r of results) {
    const s = r.state;
    lines.push(
      `- ${count(r.rows)} rows (${mb(sizes.get(r.rows)).toFixed(1)} MB file): POST answered 202 after ${r.uploadSeconds.toFixed(1)} s; ` +
        `workerd CPU ${r.cpuSeconds.toFixed(1)} s (${count(Math.round(r.state.processed / r.cpuSeconds))} rows per CPU second); ` +
        `GET /v1/imports/{id} while running: median ${percentile(r.polls, 0.5).toFixed(0)} ms, max ${Math.max(...r.polls).toFixed(0)} ms; ` +
        `created ${count(s.created)}, updated ${count(s.updated)}, unchanged ${count(s.unchanged ?? 0)}, failed ${count(s.failed)}; ` +
        `workerd RSS MB before the upload ${mb(r.samples[0]?.rss ?? 0).toFixed(0)}, then at each tenth of the time: ` +
        `${profile(r.samples, "rss")}; of which anonymous (heap, not mapped files): ${mb(r.samples[0]?.anon ?? 0).toFixed(0)}, ` +
        `then ${profile(r.samples, "anon")}.`,
    );
    if (r.batches?.length > 0) lines.push(chunkTimes(r));
  }
  for (const r of results) lines.push("", ...memoryTable(r));
  lines.push("");
  return lines.join("\n");
}

/** The heap samples of one import, and what the local D1 holds at its end. */
function memoryTable(r) {
  const lines = [];
  if (r.heapSamples.length > 0) {
    lines.push(
      `Memory of the ${count(r.rows)}-row import: RSS of every workerd process of the server; heap = the Worker ` +
        `isolate's V8 heap in use (Runtime.getHeapUsage), before and after a forced collection ` +
        `(HeapProfiler.collectGarbage, median ${percentile(
          r.heapSamples.map((h) => h.gcMs),
          0.5,
        ).toFixed(0)} ms a sample); array buffers = their backing stores, outside that heap.`,
      "",
      "| rows done | RSS MB before GC | RSS MB after GC | heap MB before GC | heap MB after GC | array buffers MB after GC |",
      "| ---: | ---: | ---: | ---: | ---: | ---: |",
    );
    r.heapSamples.forEach((h, i) => {
      const label = i === r.heapSamples.length - 1 ? `${count(h.processed)} (end)` : count(h.processed);
      lines.push(
        `| ${label} | ${mb(h.rssBefore).toFixed(0)} | ${mb(h.rssAfter).toFixed(0)} | ${mb(h.heapBefore).toFixed(1)} | ` +
          `${mb(h.heapAfter).toFixed(1)} | ${mb(h.buffersAfter).toFixed(1)} |`,
      );
    });
    lines.push("");
  }
  const { bytes, walBytes, members, tables } = r.d1;
  const perMember = (n) => `${(n / members / 1024).toFixed(2)} KB`;
  lines.push(
    `- local D1 at the end of the ${count(r.rows)}-row import: ${mb(bytes).toFixed(0)} MB SQLite file ` +
      `(+ ${mb(walBytes).toFixed(0)} MB write-ahead log), ${count(members)} members, ${perMember(bytes + walBytes)} a member; ` +
      `largest tables with their indexes, a member: ${tables.map((t) => `${t.name} ${perMember(t.bytes)}`).join(", ")}.`,
  );
  return lines;
}

// --- main ---------------------------------------------------------------------------

async function main() {
  mkdirSync(outDir, { recursive: true });
  const servers = devServers({ root, outDir, env });
  // However an import goes, the run ends: servers' start, the upload and the last poll included.
  const deadlineMs = (DATASETS.length * (MAX_SECONDS + 240) + 120) * 1000;
  const deadline = setTimeout(async () => {
    console.error(`bench:import: gave up after ${deadlineMs / 1000} s`);
    await servers.stopAll();
    process.exit(1);
  }, deadlineMs);
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.once(signal, async () => {
      await servers.stopAll();
      process.exit(130);
    });
  }
  try {
    const sizes = new Map();
    const files = new Map();
    for (const rows of new Set([FLOOR_ROWS, ...DATASETS])) {
      const file = path.join(outDir, `import-${rows}.csv`);
      const size = await writeCsv(file, rows);
      if (size > MAX_UPLOAD_BYTES) throw new Error(`${file} is ${size} bytes, over the server's limit`);
      log(`wrote ${file} (${mb(size).toFixed(1)} MB)`);
      sizes.set(rows, size);
      files.set(rows, file);
    }
    const load = { before: loadavg()[0] };
    const floorResult = await floor(files.get(FLOOR_ROWS), path.join(outDir, "import-floor.sqlite"));
    log(`floor: ${floorResult.rows} rows in ${floorResult.seconds.toFixed(2)} s`);
    const schemaResult = await schemaFloor(
      files.get(FLOOR_ROWS),
      path.join(outDir, "import-schema-floor.sqlite"),
      path.join(root, "migrations"),
      CHUNK_ROWS,
    );
    log(`floor with our schema: ${schemaResult.rows} rows in ${schemaResult.seconds.toFixed(2)} s`);
    // One copy of the code for every dataset, however the tree changes meanwhile.
    const source = servers.snapshot("bench-import-src-");
    const results = [];
    for (const rows of DATASETS) {
      const result = await runImport(servers, source, rows, files.get(rows));
      log(`${rows}: ${result.state.status}, ${result.state.processed} rows in ${result.seconds.toFixed(1)} s`);
      writeSamples(result);
      results.push(result);
    }
    load.after = loadavg()[0];
    const markdown = table(floorResult, schemaResult, results, load, sizes);
    writeFileSync(path.join(outDir, "import.md"), markdown);
    console.log(`\n${markdown}`);
    const bad = results.filter((r) => r.state.status === "failed" || r.state.failed > 0);
    if (bad.length > 0) throw new Error(`imports failed or had failed rows: ${bad.map((r) => r.rows).join(", ")}`);
    process.exitCode = 0;
  } catch (err) {
    console.error(`bench:import failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  } finally {
    clearTimeout(deadline);
    await servers.stopAll();
    process.exit(process.exitCode);
  }
}

await main();
