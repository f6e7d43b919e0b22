// Starting `wrangler dev` for a benchmark (used by bench/live.mjs and bench/import.mjs):
// each server on free ports with its own state in a temp folder, in its own process
// group so that stopping it ends workerd too, serving a bundle built once up front.
import { spawn } from "node:child_process";
import { cpSync, createWriteStream, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { migratedDatabases } from "../scripts/db-migrate.mjs";
import { finishUpgrades } from "../scripts/finish-upgrades.mjs";

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The servers of one benchmark run. `outDir` gets each server's log (<name>.log);
 * `stopAll()` stops every server started, then removes their temp files and snapshots.
 * @param {{ root: string, outDir: string, env: NodeJS.ProcessEnv }} options
 */
export function devServers({ root, outDir, env }) {
  /** Stop the servers, then (once nothing watches them) remove their files. */
  const stops = [];
  const removals = [];
  const stopAll = async () => {
    await Promise.allSettled(stops.splice(0).map((stop) => stop()));
    for (const remove of removals.splice(0)) rmSync(remove, { recursive: true, force: true });
  };

  /** Runs `npx <args>` in `cwd` to completion, its output appended to `log`. */
  function npx(args, cwd, log, logPath) {
    return new Promise((resolve, reject) => {
      const run = spawn("npx", args, { cwd, env, stdio: ["ignore", log, log] });
      run.once("error", reject);
      run.once("exit", (code) =>
        code === 0 ? resolve() : reject(new Error(`npx ${args.slice(0, 3).join(" ")} exited ${code}: see ${logPath}`)),
      );
    });
  }

  /**
   * `wrangler dev` on a free port with its own state in a temp folder, output in
   * <outDir>/<name>.log. Its own process group, so stopping it ends workerd too.
   *
   * It serves a bundle built once up front (`--no-bundle`): bundling in `wrangler dev`
   * watches every file it read, up to the repository's package.json, and restarts the
   * worker, closing every socket, when one changes; others edit and `npm install` in
   * this tree while the benchmark runs.
   *
   * Answers its URL, its process group id (`pgid`, for finding workerd), its DevTools
   * inspector port (`inspectorPort`), its state folder (`state`, kept until `stopAll()`)
   * and `stop()`, which `stopAll()` also calls.
   * @param {string} name
   * @param {{ cwd: string, config?: string, vars?: string[], migrate?: boolean }} options
   */
  async function startWrangler(name, { cwd, config, vars = [], migrate = false }) {
    const tmp = mkdtempSync(path.join(tmpdir(), `bench-${name}-`));
    const state = path.join(tmp, "state");
    const bundle = path.join(tmp, "bundle");
    const logPath = path.join(outDir, `${name}.log`);
    const log = createWriteStream(logPath);
    await new Promise((resolve) => log.once("open", resolve));
    // Named even when it is the default: given a script, wrangler looks for it beside the script.
    const configArgs = ["-c", config ?? "wrangler.toml"];
    let child = null;
    let stopped = null;
    const stop = () => {
      stopped ??= (async () => {
        if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
          const exited = new Promise((resolve) => child.once("exit", resolve));
          process.kill(-child.pid, "SIGTERM");
          if (!(await Promise.race([exited.then(() => true), sleep(5_000).then(() => false)]))) {
            try {
              process.kill(-child.pid, "SIGKILL");
            } catch {
              // already gone
            }
          }
        }
        log.end();
      })();
      return stopped;
    };
    stops.push(stop);
    removals.push(tmp);
    if (migrate) {
      // The directory and every shard (scripts/db-migrate.mjs); a checkout from before shards has one DB.
      const listed = migratedDatabases(readFileSync(path.join(cwd, config ?? "wrangler.toml"), "utf8"));
      for (const { binding } of listed.length > 0 ? listed : [{ binding: "DB" }]) {
        const migrations = ["wrangler", "d1", "migrations", "apply", binding, "--local", "--persist-to", state];
        await npx([...migrations, ...configArgs], cwd, log, logPath);
      }
    }
    await npx(["wrangler", "deploy", "--dry-run", "--outdir", bundle, ...configArgs], cwd, log, logPath);
    const script = readdirSync(bundle).find((file) => file.endsWith(".js"));
    if (!script) throw new Error(`no bundle for ${name}: see ${logPath}`);
    const [port, inspectorPort] = [await freePort(), await freePort()];
    const args = ["wrangler", "dev", path.join(bundle, script), "--no-bundle", ...configArgs];
    args.push("--port", String(port), "--inspector-port", String(inspectorPort));
    args.push("--ip", "127.0.0.1", "--persist-to", state, ...vars.flatMap((v) => ["--var", v]));
    child = spawn("npx", args, { cwd, env, stdio: ["ignore", log, log], detached: true });
    const url = `http://127.0.0.1:${port}`;
    const until = Date.now() + 90_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`wrangler dev (${name}) exited ${child.exitCode}: see ${logPath}`);
      try {
        if ((await fetch(`${url}/healthz`)).ok) {
          const token = vars.find((v) => v.startsWith("PLATFORM_TOKEN:"))?.slice("PLATFORM_TOKEN:".length);
          if (migrate && token) await finishUpgrades(url, token);
          return { url, pgid: child.pid, inspectorPort, state, stop };
        }
      } catch {
        // not up yet
      }
      if (Date.now() > until) throw new Error(`wrangler dev (${name}) did not answer at ${url}: see ${logPath}`);
      await sleep(250);
    }
  }

  /**
   * A copy of the project as it is now, to build and serve: `wrangler dev` also watches
   * its config and the assets folder, and the benchmark measures one version of the code.
   * @param {string} [prefix] the temp folder's name prefix
   */
  function snapshot(prefix = "bench-live-src-") {
    const dir = mkdtempSync(path.join(tmpdir(), prefix));
    const skip = new Set(["node_modules", ".git", ".wrangler", ".dev.vars", "bench"].map((p) => path.join(root, p)));
    cpSync(root, dir, { recursive: true, filter: (source) => !skip.has(source) });
    symlinkSync(path.join(root, "node_modules"), path.join(dir, "node_modules"), "dir");
    removals.push(dir);
    return dir;
  }

  return { startWrangler, snapshot, stopAll };
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

/**
 * The bounded batches a server run with DEBUG_METRICS=1 logged of one job (worker/lib/bounded.ts
 * `logBatch`): one `{"boundedBatch": job, "ms": D1 time, ...}` entry each, from its log file.
 */
export function boundedBatches(logPath, job) {
  const batches = [];
  for (const line of readFileSync(logPath, "utf8").split("\n")) {
    const at = line.indexOf('{"boundedBatch"');
    if (at === -1) continue;
    try {
      const entry = JSON.parse(line.slice(at));
      if (entry.boundedBatch === job) batches.push(entry);
    } catch {
      // a line cut by the log's buffering
    }
  }
  return batches;
}
