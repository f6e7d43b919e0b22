import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { migrateAll } from "../../scripts/db-migrate.mjs";
import { finishUpgrades } from "../../scripts/finish-upgrades.mjs";

/** A `wrangler dev` of this project on a free port, with its own empty local state. */
export type DevServer = {
  url: string;
  platformToken: string;
  stop: () => Promise<void>;
  /** Stops the server (SIGTERM, or SIGKILL: as a crash, nothing let finish) and starts it on the same state. */
  restart: (signal?: "SIGTERM" | "SIGKILL") => Promise<void>;
};

const env = { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" };

export async function freePort(): Promise<number> {
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

async function waitForHealth(url: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`wrangler dev did not answer at ${url}`);
}

export async function startDevServer(): Promise<DevServer> {
  const state = mkdtempSync(path.join(tmpdir(), "live-members-"));
  const port = await freePort();
  const platformToken = randomBytes(18).toString("base64url");
  const url = `http://127.0.0.1:${port}`;
  // The directory and every shard, as `npm run db:migrate`.
  migrateAll({ persistTo: state, quiet: true, env });
  let child: ChildProcess;
  const launch = async () => {
    child = spawn(
      "npx",
      [
        "wrangler",
        "dev",
        "--port",
        String(port),
        "--ip",
        "127.0.0.1",
        "--persist-to",
        state,
        "--var",
        `PLATFORM_TOKEN:${platformToken}`,
        "--var",
        `SECRETS_KEY:${randomBytes(32).toString("base64url")}`,
      ],
      { env, stdio: "ignore", detached: true },
    );
    await waitForHealth(url);
  };
  const kill = async (signal: NodeJS.Signals = "SIGTERM") => {
    if (child.pid === undefined || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    process.kill(-child.pid, signal);
    await exited;
  };
  await launch();
  await finishUpgrades(url, platformToken);
  return {
    url,
    platformToken,
    restart: async (signal) => {
      await kill(signal);
      await launch();
    },
    stop: async () => {
      await kill();
      rmSync(state, { recursive: true, force: true });
    },
  };
}
