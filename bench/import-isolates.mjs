// By hand, beside `BENCH_IMPORT_HEAP=1 npm run bench:import`: every BENCH_ISOLATES_SECONDS
// (default 45) while an import runs, forces a collection in the other isolates of the
// benchmark's workerd that the import keeps busy (the local D1, queue and R2; wrangler's
// inspector proxy lists only the Worker's), through workerd's own inspector, and prints their
// heaps (V8 in use, MB) before → after, with the RSS of the benchmark's workerd processes.
// The benchmark's "RSS after GC" column then shows what is left once every isolate's garbage
// is collected. Ends when that workerd does.
//
//   BENCH_IMPORT_HEAP=1 npm run bench:import & npm run bench:import-isolates
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { collectGarbage, devtools } from "./devtools.mjs";

const EVERY_MS = Number(process.env.BENCH_ISOLATES_SECONDS ?? 45) * 1000;
/** The isolates an import keeps busy: an idle one would not collect until it gets work. */
const ISOLATES = ["d1:db", "d1:db:entry", "queues:queue", "queues:queue:imports", "r2:bucket"];
/** bench/import.mjs serves a snapshot of the project from here (devServers().snapshot). */
const SOURCE = path.join(tmpdir(), "bench-import-src-");
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The benchmark's workerd processes: their working folder is the snapshot. */
function benchWorkerds() {
  const found = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (!readFileSync(`/proc/${entry}/comm`, "utf8").startsWith("workerd")) continue;
      if (!readlinkSync(`/proc/${entry}/cwd`).startsWith(SOURCE)) continue;
      found.push({ pid: Number(entry), cmdline: readFileSync(`/proc/${entry}/cmdline`, "utf8") });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

const rssMb = (pids) =>
  pids.reduce((sum, pid) => {
    try {
      return sum + Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;
    } catch {
      return sum;
    }
  }, 0);

/**
 * workerd's own inspector port. Wrangler starts workerd with `--inspector-addr=127.0.0.1:0`
 * and learns the port over a pipe, so it is found among the process's listening sockets
 * (/proc/<pid>/net/tcp, matched by inode) as the one answering /json. One of the others is
 * workerd's Cap'n Proto debug port, which logs a warning for the HTTP request it cannot read.
 */
async function inspectorPort(pid) {
  const inodes = new Set();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const socket = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (socket) inodes.add(socket[1]);
    } catch {
      // closed meanwhile
    }
  }
  for (const line of readFileSync(`/proc/${pid}/net/tcp`, "utf8").split("\n").slice(1)) {
    const [, local, , state, , , , , , inode] = line.trim().split(/\s+/);
    // 0A: listening.
    if (state !== "0A" || !inodes.has(inode)) continue;
    const port = Number.parseInt(local.split(":")[1], 16);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/json`, { signal: AbortSignal.timeout(1000) });
      const targets = await res.json();
      if (Array.isArray(targets) && targets.some((t) => t.id === ISOLATES[0])) return port;
    } catch {
      // not the inspector
    }
  }
  throw new Error(`no inspector among the listening sockets of workerd ${pid}`);
}

async function main() {
  let workerd;
  for (;;) {
    workerd = benchWorkerds().find((w) => w.cmdline.includes("--inspector-addr"));
    if (workerd) break;
    await sleep(500);
  }
  const port = await inspectorPort(workerd.pid);
  console.log(`workerd ${workerd.pid}, inspector at 127.0.0.1:${port}`);
  const sessions = await Promise.all(ISOLATES.map((name) => devtools(`ws://127.0.0.1:${port}/${name}`)));
  for (;;) {
    const pids = benchWorkerds().map((w) => w.pid);
    if (!pids.includes(workerd.pid)) break;
    const line = [new Date().toISOString().slice(11, 19), `RSS MB ${rssMb(pids).toFixed(0)}`];
    for (const [i, session] of sessions.entries()) {
      try {
        const before = await session.send("Runtime.getHeapUsage");
        await collectGarbage(session, { timeoutMs: 15_000 });
        const after = await session.send("Runtime.getHeapUsage");
        line.push(
          `${ISOLATES[i]} ${(before.usedSize / 2 ** 20).toFixed(1)} → ${(after.usedSize / 2 ** 20).toFixed(1)}`,
        );
      } catch (err) {
        line.push(`${ISOLATES[i]} ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    line.push(`then RSS MB ${rssMb(pids).toFixed(0)}`);
    console.log(line.join(" | "));
    await sleep(EVERY_MS);
  }
  for (const session of sessions) session.close();
}

await main();
