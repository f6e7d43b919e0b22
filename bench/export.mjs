// `npm run bench:export`: seeds BENCH_MEMBERS members (default 1,000,000) into a local D1 of
// its own, a third of them with custom attributes, then streams GET /v1/members/export
// (format=ndjson, then format=csv) through `wrangler dev` and prints rows/s and the memory of
// the Worker: its isolate's V8 heap in use (DevTools) and the RSS of the server's workerd
// processes (summed over the process group), each sampled every 50 ms, before the export
// and at its peak. workerd runs the local D1 too, so its RSS includes SQLite's page cache;
// the heap is the Worker's own. Flat memory shows as a peak that does not grow with the
// member count (compare BENCH_MEMBERS=10000 with 100000). Writes bench/out/export.md.
//
// Seeding goes through `wrangler d1 execute` in the layout before migrations/0017 (as
// bench:list does) and then the online upgrade; 1,000,000 members take a long while to seed
// on a small machine, hence BENCH_MEMBERS. BENCH_KEEP=1 keeps bench/out/export-state.
import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { migrateAll } from "../scripts/db-migrate.mjs";
import { finishUpgrades } from "../scripts/finish-upgrades.mjs";
import { devtools } from "./devtools.mjs";
import { persistedDev } from "./persisted-dev.mjs";
import { seedSql } from "./seed.mjs";

const MEMBERS = Number(process.env.BENCH_MEMBERS ?? 1_000_000);
const OUT = "bench/out";
const STATE = `${OUT}/export-state`;
const CUSTOM_ROLE = "support";
const env = { ...process.env, WRANGLER_SEND_METRICS: "false" };
const token = randomBytes(24).toString("base64url");
const log = (...args) => console.error("[bench]", ...args);

const dev = persistedDev({ state: STATE, logPath: `${OUT}/export-dev.log`, vars: [`PLATFORM_TOKEN:${token}`], env });

/** The workerd processes of the server's process group. */
function workerds(pgid) {
  const pids = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // Fields after the command (which may hold spaces): state, ppid, pgrp.
      const pgrp = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
      if (pgrp === pgid && readFileSync(`/proc/${entry}/comm`, "utf8").startsWith("workerd")) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

const rssMb = (pids) =>
  pids.reduce((sum, pid) => {
    try {
      return sum + Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;
    } catch {
      return sum;
    }
  }, 0);

/** The Worker's isolate over DevTools (wrangler's inspector proxy lists that one target). */
async function workerIsolate() {
  const targets = await (await fetch(`http://127.0.0.1:${dev.inspectorPort()}/json`)).json();
  const target = targets[0];
  if (!target) throw new Error(`no inspector target: ${JSON.stringify(targets)}`);
  return devtools(target.webSocketDebuggerUrl);
}

const heapMb = async (session) => (await session.send("Runtime.getHeapUsage")).usedSize / 1024 / 1024;

/**
 * Streams one export to the end, counting lines, while sampling the workerds' RSS and the
 * Worker isolate's V8 heap in use (Runtime.getHeapUsage, answered between the isolate's tasks).
 */
async function measure(base, key, format) {
  const pids = workerds(dev.pgid());
  if (pids.length === 0) throw new Error("no workerd found in the server's process group");
  const session = await workerIsolate();
  const before = rssMb(pids);
  const heapBefore = await heapMb(session);
  let peak = before;
  let heapPeak = heapBefore;
  let sampling = true;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssMb(pids));
  }, 50);
  const heapSampler = (async () => {
    while (sampling) {
      heapPeak = Math.max(heapPeak, await heapMb(session));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  const started = performance.now();
  let firstByteMs = null;
  let lines = 0;
  let bytes = 0;
  try {
    const res = await fetch(`${base}/v1/members/export?format=${format}&status=active`, {
      headers: { Authorization: `Bearer ${key}` },
    });
    if (!res.ok) throw new Error(`export ${format}: ${res.status} ${await res.text()}`);
    const reader = res.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      firstByteMs ??= performance.now() - started;
      bytes += value.byteLength;
      for (const byte of value) if (byte === 10) lines++;
    }
  } finally {
    clearInterval(sampler);
    sampling = false;
    await heapSampler;
    session.close();
  }
  const seconds = (performance.now() - started) / 1000;
  const rows = format === "csv" ? lines - 1 : lines;
  return {
    format,
    rows,
    bytes,
    seconds,
    firstByteMs,
    rowsPerSecond: rows / seconds,
    before,
    peak,
    heapBefore,
    heapPeak,
  };
}

async function main() {
  rmSync(STATE, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  rmSync(`${OUT}/export-dev.log`, { force: true });
  log("applying migrations to", STATE);
  migrateAll({ persistTo: STATE, quiet: true });

  let base = await dev.start();
  const res = await fetch(`${base}/v1/workspaces`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: JSON.stringify({
      name: "Bench",
      slug: `bench-${Date.now().toString(36)}`,
      shard: 0,
      owner: { name: "Bench Owner", email: "owner@bench.test" },
    }),
  });
  if (res.status !== 201) throw new Error(`POST /v1/workspaces: ${res.status} ${await res.text()}`);
  const created = await res.json();
  const workspaceId = created.workspace.id;
  const key = created.apiKey;
  await fetch(`${base}/v1/roles`, {
    method: "POST",
    headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
    body: JSON.stringify({ key: CUSTOM_ROLE, name: "Support", type: "team", scopes: ["members:read"] }),
  });
  await dev.stop();

  log(`seeding ${MEMBERS.toLocaleString("en")} members`);
  const seedStarted = performance.now();
  // One seed (its emails and phones are numbered through), written in files of 100,000 members:
  // one file of a million members' SQL is more than wrangler reads at once.
  const statements = seedSql({ workspaceId, customRole: CUSTOM_ROLE, count: MEMBERS }).split(/;\n(?=INSERT)/);
  // Statements of 100 members: 20,000 members a file stay well inside wrangler's 180 s.
  const PER_FILE = 200;
  const file = `${OUT}/export-seed.sql`;
  for (let at = 0; at < statements.length; at += PER_FILE) {
    const part = statements.slice(at, at + PER_FILE).join(";\n");
    writeFileSync(file, part.endsWith(";\n") ? part : `${part.trimEnd().replace(/;$/, "")};\n`);
    dev.wrangler(["d1", "execute", "SHARD_0", "--local", "--persist-to", STATE, "--file", file, "--yes"]);
    log(`  ${Math.min((at + PER_FILE) * 100, MEMBERS).toLocaleString("en")}`);
  }
  // A third of them with attributes, as a CRM sync would give them (written in the old
  // layout: the upgrade's swap carries them over).
  writeFileSync(
    file,
    `UPDATE members SET attributes = json_object('plan', CASE abs(random()) % 3 WHEN 0 THEN 'free' WHEN 1 THEN 'pro' ELSE 'team' END, 'seats', abs(random()) % 500, 'paid', json(CASE WHEN random() > 0 THEN 'true' ELSE 'false' END)) WHERE workspace_id = '${workspaceId}' AND abs(random()) % 3 = 0;\n`,
  );
  dev.wrangler(["d1", "execute", "SHARD_0", "--local", "--persist-to", STATE, "--file", file, "--yes"]);
  rmSync(file);
  const seedSeconds = (performance.now() - seedStarted) / 1000;

  base = await dev.start();
  log("upgrading to the lean layout online");
  await finishUpgrades(base, token);
  // Warm up: the Worker, its key lookup and the list's statements.
  await fetch(`${base}/v1/members?limit=1`, { headers: { Authorization: `Bearer ${key}` } });
  const results = [];
  for (const format of ["ndjson", "csv"]) {
    log(`exporting as ${format}`);
    results.push(await measure(base, key, format));
  }
  await dev.stop();

  const table = [
    "| format | rows | MB | seconds | rows/s | first byte ms | Worker heap MB before → peak | workerd RSS MB before → peak |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...results.map(
      (r) =>
        `| ${r.format} | ${r.rows.toLocaleString("en")} | ${(r.bytes / 1e6).toFixed(1)} | ${r.seconds.toFixed(1)} | ` +
        `${Math.round(r.rowsPerSecond).toLocaleString("en")} | ${r.firstByteMs?.toFixed(0)} | ` +
        `${r.heapBefore.toFixed(1)} → ${r.heapPeak.toFixed(1)} | ${r.before.toFixed(0)} → ${r.peak.toFixed(0)} |`,
    ),
  ].join("\n");
  const notes = [
    `${MEMBERS.toLocaleString("en")} members seeded in one workspace (${seedSeconds.toFixed(0)} s), a third with 3 attributes;`,
    "GET /v1/members/export?status=active through `wrangler dev` on this machine, read to the end by one client.",
    "CSV reads the members twice (the attribute columns first), so its first byte waits for a first pass.",
    "Worker heap: the Worker isolate's V8 heap in use (DevTools Runtime.getHeapUsage, sampled between its tasks).",
    "RSS: every workerd process of the server (the Worker and the local D1, with SQLite's page cache), sampled every 50 ms.",
  ].join("\n");
  const text = `${table}\n\n${notes}\n`;
  writeFileSync(`${OUT}/export.md`, text);
  console.log(text);
  if (!process.env.BENCH_KEEP) rmSync(STATE, { recursive: true, force: true });
}

process.once("SIGINT", () => {
  dev.kill();
  process.exit(130);
});
main().catch(async (err) => {
  console.error(err);
  await dev.stop().catch(() => {});
  process.exit(1);
});
