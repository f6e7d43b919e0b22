// `wrangler dev` on a local state folder the benchmark keeps (bench:list seeds it with
// `wrangler d1 execute` between runs; bench:provider reads it afterwards), unlike
// ./dev-server.mjs, whose servers each get a throwaway state and a frozen bundle.
import { spawn, spawnSync } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort } from "./dev-server.mjs";

const WRANGLER = "node_modules/wrangler/bin/wrangler.js";

/**
 * @param {{ state: string, logPath: string, vars: string[], env: NodeJS.ProcessEnv }} options
 * `wrangler(args)` runs a wrangler command to completion; `start()` serves the project on free
 * ports in its own process group and answers its base URL once /healthz does; `stop()` ends
 * it (SIGTERM, then SIGKILL after 10 s); `kill()` ends it at once, for signal handlers;
 * `pgid()` is the server's process group while it runs, `inspectorPort()` its DevTools port.
 */
export function persistedDev({ state, logPath, vars, env }) {
  let dev = null;
  let inspector = null;

  function wrangler(args) {
    const result = spawnSync(process.execPath, [WRANGLER, ...args], { env, encoding: "utf8", timeout: 180_000 });
    if (result.status !== 0) throw new Error(`wrangler ${args.join(" ")} failed:\n${result.stdout}\n${result.stderr}`);
    return result.stdout;
  }

  async function start() {
    const [port, inspectorPort] = [await freePort(), await freePort()];
    const logFile = openSync(logPath, "a");
    const child = spawn(
      process.execPath,
      [
        WRANGLER,
        "dev",
        "--ip",
        "127.0.0.1",
        "--port",
        String(port),
        "--inspector-port",
        String(inspectorPort),
        "--persist-to",
        state,
        ...vars.flatMap((v) => ["--var", v]),
        "--show-interactive-dev-session=false",
        "--log-level",
        "warn",
      ],
      { env, detached: true, stdio: ["ignore", logFile, logFile] },
    );
    closeSync(logFile);
    dev = child;
    inspector = inspectorPort;
    const base = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 240; i++) {
      if (child.exitCode !== null) throw new Error(`wrangler dev exited (${child.exitCode}): see ${logPath}`);
      try {
        if ((await fetch(`${base}/healthz`)).ok) return base;
      } catch {
        // not listening yet
      }
      await sleep(250);
    }
    throw new Error(`wrangler dev did not answer /healthz: see ${logPath}`);
  }

  const signal = (child, sig) => {
    try {
      process.kill(-child.pid, sig);
    } catch {
      // already gone
    }
  };

  async function stop() {
    const child = dev;
    dev = null;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    signal(child, "SIGTERM");
    if (await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)])) return;
    signal(child, "SIGKILL");
    await exited;
  }

  function kill() {
    if (dev && dev.exitCode === null) signal(dev, "SIGKILL");
  }

  const pgid = () => dev?.pid ?? null;
  /** The DevTools port of the running server (wrangler's inspector proxy: the Worker's isolate). */
  const inspectorPort = () => (dev ? inspector : null);

  return { wrangler, start, stop, kill, pgid, inspectorPort };
}
