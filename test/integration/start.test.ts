import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "./dev-server";

/** `npm start` (scripts/start.mjs) on a free port with its own empty local state, run until its banner is out. */
async function start() {
  const state = mkdtempSync(path.join(tmpdir(), "live-members-start-"));
  const port = await freePort();
  const child = spawn("node", ["scripts/start.mjs"], {
    env: { ...process.env, PORT: String(port), PERSIST_TO: state, NO_COLOR: "1", WRANGLER_SEND_METRICS: "false" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  child.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  await new Promise<void>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`npm start exited (${code}):\n${output}`)));
    const poll = setInterval(() => {
      if (output.includes("Try: curl")) {
        clearInterval(poll);
        resolve();
      }
    }, 100);
  });
  const stop = async () => {
    if (child.pid === undefined || child.exitCode !== null) return;
    const exited = new Promise((resolve) => (child as ChildProcess).once("exit", resolve));
    process.kill(-child.pid, "SIGTERM");
    await exited;
    rmSync(state, { recursive: true, force: true });
  };
  return { url: `http://localhost:${port}`, output: () => output, stop };
}

describe("npm start", () => {
  let started: Awaited<ReturnType<typeof start>>;
  beforeAll(async () => {
    started = await start();
  }, 180_000);
  afterAll(async () => {
    await started?.stop();
  });

  it("prints a short banner, with no migration tables", () => {
    const output = started.output();
    expect(output).toContain(`Live members is running at ${started.url}`);
    expect(output).not.toMatch(/Migrations to be applied|0000_init\.sql|┌|│/);
    expect(output.trim().split("\n").length).toBeLessThan(25);
  });

  it("offers a sign-in link for the demo owner that signs in once", async () => {
    const link = /Sign in\s+(\S+\/sign-in#token=\S+)/.exec(started.output())?.[1];
    expect(link).toBeDefined();
    const token = new URL(link ?? "").hash.replace("#token=", "");
    const verify = () =>
      fetch(`${started.url}/v1/auth/verify`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Origin: started.url },
        body: JSON.stringify({ token }),
      });
    const verified = await verify();
    expect(verified.status).toBe(200);
    expect((await verified.json()).member).toMatchObject({ email: "owner@demo.test", role: "manager" });
    const cookie = (verified.headers.getSetCookie()[0] ?? "").split(";")[0] ?? "";
    const members = await fetch(`${started.url}/v1/members`, { headers: { Cookie: cookie } });
    expect(members.status).toBe(200);
    expect((await verify()).status).toBe(409);
  });
});
