// `npm run bench:move`: a workspace of BENCH_MEMBERS members (default 100,000) on shard 0,
// with BENCH_SOCKETS live sockets open (default 50) and a writer making a change every
// BENCH_WRITE_MS (default 100: a member renamed, or a new one, in turn), is moved to shard 1
// (POST /v1/platform/workspaces/{id}/move) under `wrangler dev`. Prints the move's duration
// (until the directory names shard 1, and until the old copy is gone), the longest time any
// write waited for its answer, the writes answered 503, and per socket the events lost,
// duplicated or reordered (every socket must see every event the writes made, once, in
// order). Goal: 0, 0, 0, longest wait <= 2 s. The table goes to stdout and bench/out/move.md.
//
// BENCH_KEEP=1 keeps bench/out/move-state afterwards.
import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { migrateAll } from "../scripts/db-migrate.mjs";
import { finishUpgrades } from "../scripts/finish-upgrades.mjs";
import { persistedDev } from "./persisted-dev.mjs";
import { seedSql } from "./seed.mjs";

const MEMBERS = Number(process.env.BENCH_MEMBERS ?? 100_000);
const SOCKETS = Number(process.env.BENCH_SOCKETS ?? 50);
const WRITE_MS = Number(process.env.BENCH_WRITE_MS ?? 100);
/** Writes go on this long after the switch, so sockets see events from the new shard too. */
const AFTER_SWITCH_MS = 3_000;
/** How long sockets get, after the last write, to receive what they are owed. */
const DRAIN_MS = 15_000;
const DEADLINE_MS = 20 * 60_000;
const CUSTOM_ROLE = "support";
const OUT = "bench/out";
const STATE = `${OUT}/move-state`;

const env = { ...process.env, WRANGLER_SEND_METRICS: "false" };
const token = randomBytes(24).toString("base64url");
const dev = persistedDev({ state: STATE, logPath: `${OUT}/move-dev.log`, vars: [`PLATFORM_TOKEN:${token}`], env });
const log = (...args) => console.error("[bench:move]", ...args);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function api(base, method, path, { key, body } = {}) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { Authorization: `Bearer ${key}`, ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null, headers: res.headers };
}

async function ok(promise, what) {
  const res = await promise;
  if (res.status >= 300) throw new Error(`${what}: ${res.status} ${JSON.stringify(res.json)}`);
  return res.json;
}

/** One socket's record of the events after its `ready` head: what came twice, what came out of order. */
class Receiver {
  constructor(url) {
    this.base = null;
    this.seen = new Set();
    this.last = 0;
    this.duplicated = 0;
    this.reordered = 0;
    this.closed = null;
    this.ws = new WebSocket(url);
    this.opened = new Promise((resolve, reject) => {
      this.ws.addEventListener("open", resolve, { once: true });
      this.ws.addEventListener("error", () => reject(new Error("socket error")), { once: true });
    });
    this.ws.addEventListener("close", (event) => {
      this.closed = event.code;
    });
    this.ws.addEventListener("message", (event) => {
      let message;
      try {
        message = JSON.parse(String(event.data));
      } catch {
        return;
      }
      if (message.type === "ready") {
        this.base = message.head;
        this.last = message.head;
        return;
      }
      if (typeof message.seq !== "number") return;
      if (this.seen.has(message.seq)) {
        this.duplicated++;
        return;
      }
      if (message.seq < this.last) this.reordered++;
      this.seen.add(message.seq);
      this.last = Math.max(this.last, message.seq);
    });
  }

  /** Events of (base, head] it never received. */
  lost(head) {
    let lost = 0;
    for (let seq = this.base + 1; seq <= head; seq++) if (!this.seen.has(seq)) lost++;
    return lost;
  }
}

/** A change every WRITE_MS until stopped: each one's wait (ms) and status are kept. */
function startWriter(base, key, memberIds) {
  const writes = [];
  let stopped = false;
  let n = 0;
  const done = (async () => {
    while (!stopped) {
      const started = performance.now();
      n += 1;
      // A write the server never answered counts as failed (status 0), not as a crash of the run.
      const res = await (n % 2 === 0
        ? api(base, "POST", "/v1/members", {
            key,
            body: { name: `Writer ${n}`, email: `writer-${n}@bench.test` },
          })
        : api(base, "PATCH", `/v1/members/${memberIds[n % memberIds.length]}`, {
            key,
            body: { name: `Renamed ${n}` },
          })
      ).catch(() => ({ status: 0, headers: new Headers() }));
      const waited = performance.now() - started;
      writes.push({ at: started, waited, status: res.status, retryAfter: res.headers.get("Retry-After") });
      await sleep(Math.max(0, WRITE_MS - waited));
    }
  })();
  return {
    writes,
    stop: async () => {
      stopped = true;
      await done;
    },
  };
}

async function main() {
  rmSync(STATE, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  log("applying migrations to the directory and both shards");
  migrateAll({ persistTo: STATE, quiet: true });

  let base = await dev.start();
  await finishUpgrades(base, token);
  const created = await ok(
    api(base, "POST", "/v1/workspaces", {
      key: token,
      body: {
        name: "Bench",
        slug: `bench-${Date.now().toString(36)}`,
        shard: 0,
        owner: { name: "Owner", email: "owner@bench.test" },
      },
    }),
    "workspace",
  );
  const workspaceId = created.workspace.id;
  const key = created.apiKey;
  await ok(
    api(base, "POST", "/v1/roles", {
      key,
      body: { key: CUSTOM_ROLE, name: "Support", type: "team", scopes: ["members:read"] },
    }),
    "role",
  );
  // The seed goes into shard 0's file directly: only one process may write it.
  await dev.stop();
  log(`seeding ${MEMBERS} members on shard 0`);
  const seedFile = `${OUT}/move-seed.sql`;
  writeFileSync(seedFile, seedSql({ workspaceId, customRole: CUSTOM_ROLE, count: MEMBERS }));
  dev.wrangler(["d1", "execute", "SHARD_0", "--local", "--persist-to", STATE, "--file", seedFile, "--yes"]);
  rmSync(seedFile);
  base = await dev.start();

  const page = await ok(api(base, "GET", "/v1/members?limit=100", { key }), "members");
  const memberIds = page.data.map((m) => m.id);
  log(`opening ${SOCKETS} sockets`);
  const wsBase = base.replace(/^http/, "ws");
  const receivers = [];
  for (let i = 0; i < SOCKETS; i++) {
    const { ticket } = await ok(api(base, "POST", "/v1/live/tickets", { key, body: {} }), "ticket");
    const receiver = new Receiver(`${wsBase}/v1/live?token=${encodeURIComponent(ticket)}`);
    await receiver.opened;
    receivers.push(receiver);
  }
  const until = Date.now() + 60_000;
  while (receivers.some((r) => r.base === null) && Date.now() < until) await sleep(20);

  const load = { before: loadavg()[0] };
  const writer = startWriter(base, key, memberIds);
  await sleep(1_000);
  log("moving the workspace to shard 1");
  const moveStarted = performance.now();
  const move = await ok(
    api(base, "POST", `/v1/platform/workspaces/${workspaceId}/move`, { key: token, body: { shard: 1 } }),
    "move",
  );
  let progress = move;
  let switchedMs = null;
  for (;;) {
    progress = await ok(api(base, "GET", `/v1/platform/moves/${move.id}`, { key: token }), "move progress");
    if (switchedMs === null && progress.status === "completed") {
      switchedMs = performance.now() - moveStarted;
      log(`switched after ${(switchedMs / 1000).toFixed(1)} s`);
    }
    if (progress.status === "failed") throw new Error(`the move failed: ${progress.error}`);
    if (progress.finishedAt !== null) break;
    if (performance.now() - moveStarted > DEADLINE_MS)
      throw new Error(`the move did not finish: ${JSON.stringify(progress)}`);
    await sleep(200);
  }
  const doneMs = performance.now() - moveStarted;
  await sleep(AFTER_SWITCH_MS);
  await writer.stop();
  load.after = loadavg()[0];

  const head = await lastSeq(base, key);
  const drainUntil = Date.now() + DRAIN_MS;
  while (receivers.some((r) => r.lost(head) > 0) && Date.now() < drainUntil) await sleep(50);
  const shards = await ok(api(base, "GET", "/v1/platform/shards", { key: token }), "shards");
  // Before the bench closes them: a socket closed by now was closed by the server or the network.
  const closedEarly = receivers.filter((r) => r.closed !== null).length;
  for (const r of receivers) r.ws.close();
  await dev.stop();

  const during = writer.writes.filter((w) => w.at >= moveStarted && w.at <= moveStarted + doneMs);
  const result = {
    members: MEMBERS,
    sockets: SOCKETS,
    switchedMs,
    doneMs,
    copied: progress.copied,
    total: progress.total,
    writes: writer.writes.length,
    writesDuringMove: during.length,
    longestWaitMs: Math.max(...writer.writes.map((w) => w.waited)),
    answered503: writer.writes.filter((w) => w.status === 503).length,
    failed: writer.writes.filter((w) => w.status >= 300 && w.status !== 503).length,
    lost: receivers.map((r) => r.lost(head)),
    duplicated: receivers.map((r) => r.duplicated),
    reordered: receivers.map((r) => r.reordered),
    closedEarly,
    shards: shards.data,
    load,
  };
  const markdown = table(result);
  writeFileSync(`${OUT}/move.md`, markdown);
  console.log(markdown);
  const faults = sum(result.lost) + sum(result.duplicated) + sum(result.reordered) + result.failed;
  if (faults > 0 || result.answered503 > 0) process.exitCode = 1;
}

/** The workspace's last event seq: the head a new socket's `ready` names. */
async function lastSeq(base, key) {
  const { ticket } = await ok(api(base, "POST", "/v1/live/tickets", { key, body: {} }), "ticket");
  const probe = new Receiver(`${base.replace(/^http/, "ws")}/v1/live?token=${encodeURIComponent(ticket)}`);
  await probe.opened;
  const until = Date.now() + 30_000;
  while (probe.base === null && Date.now() < until) await sleep(20);
  probe.ws.close();
  if (probe.base === null) throw new Error("no ready from a new socket");
  return probe.base;
}

const sum = (values) => values.reduce((a, b) => a + b, 0);
const s = (ms) => (ms === null ? "n/a" : `${(ms / 1000).toFixed(1)} s`);

function table(r) {
  const perSocket = (values) => `${sum(values)} (at most ${Math.max(...values)} on one socket)`;
  return [
    `${r.members.toLocaleString("en")} members moved from shard 0 to shard 1 under \`wrangler dev\`, ${r.sockets} sockets open,`,
    `a write every ${WRITE_MS} ms (${r.writesDuringMove} during the move, ${r.writes} in all); load average`,
    `${r.load.before.toFixed(1)} before, ${r.load.after.toFixed(1)} after, on ${cpus().length} cores.`,
    "",
    "| | result | goal |",
    "| --- | ---: | ---: |",
    `| move: start to switch | ${s(r.switchedMs)} | |`,
    `| move: start to old copy deleted | ${s(r.doneMs)} | |`,
    `| rows copied (workspace's rows at start) | ${r.copied.toLocaleString("en")} (${r.total.toLocaleString("en")}) | |`,
    `| longest write wait | ${Math.round(r.longestWaitMs)} ms | <= 2,000 ms |`,
    `| writes answered 503 | ${r.answered503} | 0 |`,
    `| other failed writes | ${r.failed} | 0 |`,
    `| events lost, all sockets | ${perSocket(r.lost)} | 0 |`,
    `| events duplicated | ${perSocket(r.duplicated)} | 0 |`,
    `| events reordered | ${perSocket(r.reordered)} | 0 |`,
    `| sockets closed during the run | ${r.closedEarly} | 0 |`,
    "",
  ].join("\n");
}

const deadline = setTimeout(() => {
  console.error(`bench:move: gave up after ${DEADLINE_MS / 1000} s`);
  dev.kill();
  process.exit(1);
}, DEADLINE_MS + 120_000);
try {
  await main();
} catch (err) {
  console.error(`bench:move failed: ${err instanceof Error ? err.stack : String(err)}`);
  process.exitCode = 1;
} finally {
  clearTimeout(deadline);
  await dev.stop().catch(() => {});
  if (!process.env.BENCH_KEEP) rmSync(STATE, { recursive: true, force: true });
  process.exit(process.exitCode ?? 0);
}
