// `npm run bench:provider`: signed inbound SMS through `wrangler dev`, closed-loop at
// BENCH_CONCURRENCY requests in flight, from a mix of known numbers (members) and new
// ones (each new number texts several times, racing itself), with a few Twilio-style
// retries of the same MessageSid. Prints messages/s, p50 and p99, and the duplicates
// found afterwards in D1 (must be 0), next to the floor: the same signed requests to
// POST /webhooks/twilio/{ws}/check, which verifies the signature and stores nothing.
// Also the CPU time the server's workerd processes spent per request (from /proc): on
// this shared machine the rates move with other people's load, the CPU per request much less.
// Writes the table to bench/out/provider.md.
//
// The two phases alternate in BENCH_ROUNDS rounds (after one uncounted warm-up round of
// each), so a change in other people's load falls on both alike; the rates are over all
// counted rounds, and the median of the rounds' ratios is printed next to them.
//
// BENCH_SECONDS (per phase, default 10), BENCH_ROUNDS (default 5), BENCH_CONCURRENCY (default 32),
// BENCH_KNOWN (default 200).
import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import twilio from "twilio/lib/webhooks/webhooks.js";
import { migrateAll } from "../scripts/db-migrate.mjs";
import { finishUpgrades } from "../scripts/finish-upgrades.mjs";
import { persistedDev } from "./persisted-dev.mjs";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const KNOWN = Number(process.env.BENCH_KNOWN ?? 200);
const OUT = "bench/out";
const STATE = `${OUT}/provider-state`;
const AUTH_TOKEN = randomBytes(16).toString("hex");
const env = { ...process.env, WRANGLER_SEND_METRICS: "false" };
const platformToken = randomBytes(24).toString("base64url");
const log = (...args) => console.error("[bench]", ...args);

const dev = persistedDev({
  state: STATE,
  logPath: `${OUT}/provider-dev.log`,
  vars: [`PLATFORM_TOKEN:${platformToken}`, `SECRETS_KEY:${randomBytes(32).toString("base64url")}`],
  env,
});
const { wrangler } = dev;

async function api(base, method, path, { key, body }) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

const sid = () => `SM${randomBytes(16).toString("hex")}`;
let numberSeq = 0;
/** Valid, distinct US numbers: +1 415 NXX XXXX. */
const nextNumber = () => {
  numberSeq += 1;
  return `+1415${200 + Math.floor(numberSeq / 10_000)}${String(numberSeq % 10_000).padStart(4, "0")}`;
};

/** A signed SMS request, as Twilio sends it (the official helper computes the signature). */
function signed(url, params) {
  const body = new URLSearchParams(params).toString();
  const signature = twilio.getExpectedTwilioSignature(AUTH_TOKEN, url, params);
  return { url, body, signature };
}

async function send(request) {
  const started = performance.now();
  const res = await fetch(request.url, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": request.signature },
    body: request.body,
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${request.url}: ${res.status} ${text.slice(0, 500)}`);
  return performance.now() - started;
}

/** CPU milliseconds (user + system) spent so far by the workerd processes of a process group. */
function workerdCpuMs(pgid) {
  let ticks = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      const fields = stat.slice(close + 2).split(" ");
      // After the command: state, ppid, pgrp, ... utime (14th field of the line), stime (15th).
      if (Number(fields[2]) === pgid && stat.slice(stat.indexOf("(") + 1, close).startsWith("workerd")) {
        ticks += Number(fields[11]) + Number(fields[12]);
      }
    } catch {
      // gone meanwhile
    }
  }
  return ticks * 10; // USER_HZ is 100 on Linux
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;

/** Runs `next()` requests with CONCURRENCY in flight for `seconds`; returns count, time, CPU and latencies. */
async function run(next, seconds) {
  const latencies = [];
  const cpuBefore = workerdCpuMs(dev.pgid());
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < deadline) latencies.push(await send(next()));
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  // The pokes a response left running (waitUntil) belong to the phase too.
  await new Promise((resolve) => setTimeout(resolve, 500));
  return { latencies, seconds: elapsed, cpuMs: workerdCpuMs(dev.pgid()) - cpuBefore };
}

/** Sums a phase's rounds: rate, percentiles and CPU per request. */
function summary(rounds) {
  const latencies = rounds.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const seconds = rounds.reduce((sum, r) => sum + r.seconds, 0);
  const cpuMs = rounds.reduce((sum, r) => sum + r.cpuMs, 0);
  return {
    count: latencies.length,
    rate: latencies.length / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    cpuPerRequest: cpuMs / latencies.length,
  };
}

/** Alternates the floor and ours, one warm-up round each, then ROUNDS counted rounds. */
async function alternate(floorNext, oursNext) {
  const slice = SECONDS / ROUNDS;
  await run(floorNext, slice);
  await run(oursNext, slice);
  const floor = [];
  const ours = [];
  for (let i = 0; i < ROUNDS; i++) {
    floor.push(await run(floorNext, slice));
    ours.push(await run(oursNext, slice));
  }
  const ratios = floor
    .map((f, i) => ours[i].latencies.length / ours[i].seconds / (f.latencies.length / f.seconds))
    .sort((a, b) => a - b);
  return { floor: summary(floor), ours: summary(ours), medianRatio: ratios[Math.floor(ratios.length / 2)] };
}

function sql(command) {
  // The benchmark's workspace is on shard 0.
  const out = wrangler(["d1", "execute", "SHARD_0", "--local", "--persist-to", STATE, "--json", "--command", command]);
  return JSON.parse(out)[0].results;
}

async function main() {
  rmSync(STATE, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  log("applying migrations");
  migrateAll({ persistTo: STATE, quiet: true });
  const base = await dev.start();
  try {
    await finishUpgrades(base, platformToken);
    const created = await api(base, "POST", "/v1/workspaces", {
      key: platformToken,
      body: {
        name: "Bench",
        slug: `bench-${Date.now()}`,
        owner: { name: "Bench Owner", email: "owner@bench.test" },
        shard: 0,
      },
    });
    const ws = created.workspace.id;
    const key = created.apiKey;
    await api(base, "PUT", "/v1/settings/sms", {
      key,
      body: {
        provider: "twilio",
        accountSid: `AC${randomBytes(16).toString("hex")}`,
        authToken: AUTH_TOKEN,
        numbers: ["+14155550100"],
      },
    });
    log(`adding ${KNOWN} known members`);
    const known = [];
    for (let i = 0; i < KNOWN; i += 20) {
      await Promise.all(
        Array.from({ length: Math.min(20, KNOWN - i) }, async () => {
          const phone = nextNumber();
          await api(base, "POST", "/v1/members", { key, body: { name: "Known", phone } });
          known.push(phone);
        }),
      );
    }
    const params = (from) => ({ MessageSid: sid(), AccountSid: "AC0", From: from, To: "+14155550100", Body: "bench" });

    const checkUrl = `${base}/webhooks/twilio/${ws}/check`;
    const floorNext = () => signed(checkUrl, params(known[Math.floor(Math.random() * known.length)]));
    const smsUrl = `${base}/webhooks/twilio/${ws}/sms`;
    const sentSids = new Set();
    let newNumber = nextNumber();
    let newNumberUses = 0;
    let retries = 0;
    let last = null;
    const oursNext = () => {
      const roll = Math.random();
      // 5%: a retry of an earlier request (same MessageSid), which must store nothing.
      if (last && roll < 0.05) {
        retries += 1;
        return last;
      }
      let from;
      if (roll < 0.6) {
        from = known[Math.floor(Math.random() * known.length)];
      } else {
        // A new number texts 5 times in a row (racing itself), then the next one starts.
        if (newNumberUses === 5) {
          newNumber = nextNumber();
          newNumberUses = 0;
        }
        newNumberUses += 1;
        from = newNumber;
      }
      const p = params(from);
      sentSids.add(p.MessageSid);
      last = signed(smsUrl, p);
      return last;
    };
    log(
      `floor (signed /check) and ours (signed SMS) alternating: ${ROUNDS} rounds of ${SECONDS / ROUNDS}s each, ${CONCURRENCY} in flight`,
    );
    const { floor, ours, medianRatio } = await alternate(floorNext, oursNext);
    await dev.stop();

    const [{ stored, uniq: distinct }] = sql(
      `select count(*) as stored, count(distinct provider_id) as uniq from messages where workspace_id = '${ws}'`,
    );
    const [{ extraMembers }] = sql(
      `select count(*) - count(distinct phone) as extraMembers from members where workspace_id = '${ws}' and phone is not null`,
    );
    const [{ announced }] = sql(
      `select count(*) as announced from events where workspace_id = '${ws}' and type = 'message.received'`,
    );
    const duplicates = stored - distinct + extraMembers + Math.max(0, announced - distinct);
    const lost = sentSids.size - distinct;

    const f = (n) => n.toFixed(1);
    const f2 = (n) => n.toFixed(2);
    const table = [
      "| endpoint | requests | per second | p50 ms | p99 ms | workerd CPU ms per request |",
      "|---|---:|---:|---:|---:|---:|",
      `| floor: signed /check, stores nothing | ${floor.count} | ${f(floor.rate)} | ${f(floor.p50)} | ${f(floor.p99)} | ${f2(floor.cpuPerRequest)} |`,
      `| inbound SMS (${KNOWN} known numbers, new numbers x5, ${retries} retries) | ${ours.count} | ${f(ours.rate)} | ${f(ours.p50)} | ${f(ours.p99)} | ${f2(ours.cpuPerRequest)} |`,
      "",
      `messages/s: ${f(ours.rate)} = ${f((100 * ours.rate) / floor.rate)}% of the floor (goal: at least 50%); median of the ${ROUNDS} rounds' ratios: ${f(100 * medianRatio)}%; by CPU per request: ${f((100 * floor.cpuPerRequest) / ours.cpuPerRequest)}%`,
      `stored ${stored} messages for ${sentSids.size} distinct MessageSids; duplicates: ${duplicates}; lost: ${lost}`,
    ].join("\n");
    console.log(table);
    writeFileSync(`${OUT}/provider.md`, `${table}\n`);
    if (duplicates !== 0 || lost !== 0) process.exitCode = 1;
  } finally {
    await dev.stop();
  }
}

process.on("SIGINT", () => {
  dev.kill();
  process.exit(130);
});

await main();
