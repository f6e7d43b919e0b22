// `npm run bench:live`: how long a change takes to reach 1,000 live sockets on one
// workspace, against the floor (a bare partyserver Durable Object that only broadcasts a
// frame of the same size, bench/floor/). Both run under `wrangler dev` with their own
// state on free ports; the table goes to stdout and bench/out/live.md.
//
// The writes are made from a worker thread: on the main thread, whose event loop is busy
// with 1,000 sockets' frames, a response would be timestamped only after the frames
// queued before it, late by as much as the fan-out takes.
// Both threads read one clock (timeOrigin + now), so their times compare.
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { devServers } from "./dev-server.mjs";

const SOCKETS = 1_000;
const CHANGES = 200;
/** The whole run, servers' start included; past it the servers are killed and the run fails. */
const DEADLINE_MS = 5 * 60_000;
/** How long to wait after the last change for late (or lost) frames. */
const DRAIN_MS = 15_000;
/** Parallel requests while minting tickets and opening sockets (the machine has 2 cores). */
const PARALLEL = 25;

const clock = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The writer thread: makes the `CHANGES` changes one after another and answers when each
 * started and when its response's headers arrived.
 * @param {{ kind: "ours", url: string, key: string } | { kind: "floor", url: string, bytes: number }} job
 */
async function write(job) {
  const startedAt = new Float64Array(CHANGES);
  const answeredAt = new Float64Array(CHANGES);
  for (let i = 0; i < CHANGES; i++) {
    startedAt[i] = clock();
    const res =
      job.kind === "ours"
        ? await fetch(`${job.url}/v1/members`, {
            method: "POST",
            headers: { Authorization: `Bearer ${job.key}`, "Content-Type": "application/json" },
            body: JSON.stringify({ name: `Bench ${i}`, email: `bench-${i}@bench.test` }),
          })
        : await fetch(`${job.url}/broadcast?seq=${i + 1}&bytes=${job.bytes}`, { method: "POST" });
    answeredAt[i] = clock();
    const text = await res.text();
    if (!res.ok) return { error: `change ${i} answered ${res.status}: ${text}` };
  }
  return { startedAt, answeredAt };
}

async function benchmark() {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
  const outDir = path.join(root, "bench", "out");
  const env = { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" };
  const { startWrangler, snapshot, stopAll } = devServers({ root, outDir, env });

  const deadline = setTimeout(async () => {
    console.error(`bench:live: gave up after ${DEADLINE_MS / 1000} s`);
    await stopAll();
    process.exit(1);
  }, DEADLINE_MS);
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.once(signal, async () => {
      await stopAll();
      process.exit(130);
    });
  }

  try {
    mkdirSync(outDir, { recursive: true });
    // The machine is shared: its load says how far the numbers can be trusted.
    const load = { before: loadavg()[0] };
    const platformToken = randomBytes(18).toString("base64url");
    const [{ url: oursUrl }, { url: floorUrl }] = await Promise.all([
      startWrangler("live-ours", { cwd: snapshot(), vars: [`PLATFORM_TOKEN:${platformToken}`], migrate: true }),
      startWrangler("live-floor", { cwd: root, config: "bench/floor/wrangler.toml" }),
    ]);
    console.log(`ours at ${oursUrl}, floor at ${floorUrl}`);
    const ours = await benchOurs(oursUrl, platformToken);
    console.log(`ours: ${JSON.stringify(ours)}`);
    const floor = await benchFloor(floorUrl, ours.bytes);
    console.log(`floor: ${JSON.stringify(floor)}`);
    load.after = loadavg()[0];
    const markdown = table(ours, floor, load);
    writeFileSync(path.join(outDir, "live.md"), markdown);
    console.log(`\n${markdown}`);
    const faults = [ours, floor].reduce((sum, r) => sum + r.lost + r.duplicated + r.reordered + r.unexpected, 0);
    if (faults > 0) throw new Error("events were lost, duplicated, reordered or unexpected");
    process.exitCode = 0;
  } catch (err) {
    console.error(`bench:live failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  } finally {
    clearTimeout(deadline);
    await stopAll();
    // Sockets or keep-alive connections that failed to close must not keep the run alive.
    process.exit(process.exitCode);
  }
}

/** Runs `task(i)` for i in [0, n) with at most `parallel` at a time. */
async function pool(n, parallel, task) {
  const results = new Array(n);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < n; i = next++) results[i] = await task(i);
  };
  await Promise.all(Array.from({ length: Math.min(parallel, n) }, worker));
  return results;
}

async function waitFor(what, check, timeoutMs) {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/**
 * One socket's record: when each of the `CHANGES` expected events arrived (NaN if never),
 * indexed by `seq - base - 1`, and what arrived twice or out of order.
 */
class Receiver {
  /** @param {string} url */
  constructor(url) {
    this.at = new Float64Array(CHANGES).fill(Number.NaN);
    /** The head the socket started at (`ready`); the floor starts at 0. */
    this.base = null;
    this.maxSeq = 0;
    this.duplicated = 0;
    this.reordered = 0;
    this.unexpected = 0;
    this.received = 0;
    this.bytes = 0;
    this.closed = false;
    this.ws = new WebSocket(url);
    this.opened = new Promise((resolve, reject) => {
      this.ws.addEventListener("open", resolve, { once: true });
      const error = () => reject(new Error(`socket error on ${url.split("?")[0]}`));
      this.ws.addEventListener("error", error, { once: true });
    });
    this.ws.addEventListener("close", () => {
      this.closed = true;
    });
    this.ws.addEventListener("message", (event) => {
      const now = clock();
      const message = typeof event.data === "string" ? parseJson(event.data) : null;
      if (!message) return;
      if (message.type === "ready") {
        this.base = message.head;
        return;
      }
      if (message.seq === undefined) return;
      const index = message.seq - (this.base ?? 0) - 1;
      if (index < 0 || index >= CHANGES) {
        this.unexpected++;
        return;
      }
      if (!Number.isNaN(this.at[index])) {
        this.duplicated++;
        return;
      }
      if (message.seq < this.maxSeq) this.reordered++;
      this.maxSeq = Math.max(this.maxSeq, message.seq);
      this.at[index] = now;
      this.received++;
      this.bytes = Math.max(this.bytes, Buffer.byteLength(event.data));
    });
  }
}

function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** Has the writer thread make the changes, then waits for every socket to have them all (or DRAIN_MS). */
async function measure(receivers, job) {
  const writer = new Worker(new URL(import.meta.url), { workerData: job });
  const times = await new Promise((resolve, reject) => {
    writer.once("message", resolve);
    writer.once("error", reject);
    writer.once("exit", (code) => reject(new Error(`the writer thread exited ${code}`)));
  });
  await writer.terminate();
  if (times.error) throw new Error(times.error);
  const drainUntil = Date.now() + DRAIN_MS;
  while (receivers.some((r) => r.received < CHANGES) && Date.now() < drainUntil) await sleep(20);
  return summarize(receivers, times);
}

function percentile(sorted, p) {
  return sorted.length === 0
    ? Number.NaN
    : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function summarize(receivers, { startedAt, answeredAt }) {
  const fromResponse = [];
  const fromStart = [];
  let lost = 0;
  for (const r of receivers) {
    for (let i = 0; i < CHANGES; i++) {
      const at = r.at[i];
      if (Number.isNaN(at)) {
        lost++;
        continue;
      }
      fromResponse.push(at - answeredAt[i]);
      fromStart.push(at - startedAt[i]);
    }
  }
  const response = Float64Array.from(fromResponse).sort();
  const start = Float64Array.from(fromStart).sort();
  const sum = (key) => receivers.reduce((total, r) => total + r[key], 0);
  return {
    p50: percentile(response, 50),
    p99: percentile(response, 99),
    p50Start: percentile(start, 50),
    p99Start: percentile(start, 99),
    lost,
    duplicated: sum("duplicated"),
    reordered: sum("reordered"),
    unexpected: sum("unexpected"),
    closedEarly: receivers.filter((r) => r.closed).length,
    bytes: Math.max(...receivers.map((r) => r.bytes)),
  };
}

async function closeAll(receivers) {
  for (const r of receivers) r.ws.close();
  await waitFor("sockets to close", () => receivers.every((r) => r.closed), 10_000).catch(() => {});
}

/** Our stream: a workspace, a ticket per socket, SOCKETS sockets, CHANGES new members. */
async function benchOurs(url, platformToken) {
  const post = (route, key, body) =>
    fetch(`${url}${route}`, {
      method: "POST",
      headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
  const created = await post("/v1/workspaces", platformToken, {
    name: "Bench",
    slug: "bench",
    owner: { name: "Owner", email: "owner@bench.test" },
  });
  if (created.status !== 201) throw new Error(`workspace: ${created.status} ${await created.text()}`);
  const { apiKey } = await created.json();

  // Node's WebSocket cannot send an Authorization header: one single-use ticket per socket, as a browser does.
  const tickets = await pool(SOCKETS, PARALLEL, async () => {
    const res = await post("/v1/live/tickets", apiKey, {});
    if (res.status !== 201) throw new Error(`ticket: ${res.status} ${await res.text()}`);
    return (await res.json()).ticket;
  });
  const ws = url.replace(/^http/, "ws");
  const receivers = await pool(SOCKETS, PARALLEL, async (i) => {
    const receiver = new Receiver(`${ws}/v1/live?token=${encodeURIComponent(tickets[i])}`);
    await receiver.opened;
    return receiver;
  });
  await waitFor("every ready", () => receivers.every((r) => r.base !== null), 60_000);
  const heads = new Set(receivers.map((r) => r.base));
  if (heads.size !== 1) throw new Error(`sockets disagree on the head: ${[...heads].join(", ")}`);
  await sleep(1_000);
  const result = await measure(receivers, { kind: "ours", url, key: apiKey });
  await closeAll(receivers);
  return result;
}

/** The floor: SOCKETS sockets on the bare object, CHANGES broadcasts of `bytes` bytes. */
async function benchFloor(url, bytes) {
  const ws = url.replace(/^http/, "ws");
  const receivers = await pool(SOCKETS, PARALLEL, async () => {
    const receiver = new Receiver(`${ws}/ws`);
    await receiver.opened;
    receiver.base = 0;
    return receiver;
  });
  await sleep(1_000);
  const result = await measure(receivers, { kind: "floor", url, bytes });
  await closeAll(receivers);
  return result;
}

function table(ours, floor, load) {
  const ms = (value) => (Number.isNaN(value) ? "n/a" : value.toFixed(1));
  const ratio = (a, b) => (Number.isFinite(a) && b > 0 ? `${(a / b).toFixed(2)}x` : "n/a");
  const faulty = [ours, floor].filter((r) => r.lost + r.duplicated + r.reordered + r.unexpected > 0);
  const row = (name, r) =>
    `| ${name} | ${ms(r.p50)} | ${ms(r.p99)} | ${ms(r.p50Start)} | ${ms(r.p99Start)} | ${r.lost} | ${r.duplicated} | ${r.reordered} |`;
  return [
    `${SOCKETS} sockets on one workspace, ${CHANGES} changes one after another, frames of ${ours.bytes} bytes ` +
      `(floor: ${floor.bytes}); times in ms over ${SOCKETS * CHANGES} receipts each; ` +
      `load average ${load.before.toFixed(1)} before, ${load.after.toFixed(1)} after, on ${cpus().length} cores.`,
    "",
    "| | p50 from response | p99 from response | p50 from request start | p99 from request start | lost | duplicated | reordered |",
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
    row("ours (POST /v1/members)", ours),
    row("floor (bare broadcast)", floor),
    `| ratio p99 ours/floor | | ${ratio(ours.p99, floor.p99)} | | ${ratio(ours.p99Start, floor.p99Start)} | | | |`,
    "",
    // Seen even with 20 sockets: wrangler dev's proxy worker re-wraps every HTTP response, while frames are piped.
    "A negative time from response: the event reached the socket before the write's response reached the client.",
    ...(faulty.length > 0
      ? [
          "",
          `**Not a valid run**: events lost, duplicated, reordered or unexpected; sockets closed early: ours ${ours.closedEarly}, floor ${floor.closedEarly}.`,
        ]
      : []),
    "",
  ].join("\n");
}

// Last, so that every declaration above is initialised: the main thread runs the
// benchmark; the writer thread (this file again) makes the changes.
if (isMainThread) await benchmark();
else parentPort?.postMessage(await write(workerData));
