// `npm start`: local D1 migrated, a demo workspace on first start, then `wrangler dev`.
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { finishUpgrades } from "./finish-upgrades.mjs";

const PORT = process.env.PORT ?? "8787";
const BASE = `http://localhost:${PORT}`;
const env = { ...process.env, WRANGLER_SEND_METRICS: "false" };

/** A secret of .dev.vars, made up (random) on first start. */
function devSecret(name) {
  const text = existsSync(".dev.vars") ? readFileSync(".dev.vars", "utf8") : "";
  const found = new RegExp(`^${name}=(.+)$`, "m").exec(text)?.[1];
  if (found) return found.trim();
  const secret = randomBytes(24).toString("base64url");
  writeFileSync(".dev.vars", `${text}${name}=${secret}\n`);
  return secret;
}

const token = devSecret("PLATFORM_TOKEN");
devSecret("SECRETS_KEY");
const migrate = spawnSync("npx", ["wrangler", "d1", "migrations", "apply", "DB", "--local"], { stdio: "inherit", env });
if (migrate.status !== 0) process.exit(migrate.status ?? 1);

// Locally, webhooks may go to receivers on this machine (http://localhost, 127.0.0.1): never
// deployed, as `--var` lives only on this command line. WEBHOOK_ALLOW_LOCALHOST=0 keeps the production rule.
const allowLocalhost = process.env.WEBHOOK_ALLOW_LOCALHOST === "0" ? "0" : "1";
const dev = spawn(
  "npx",
  ["wrangler", "dev", "--port", PORT, "--ip", "127.0.0.1", "--var", `WEBHOOK_ALLOW_LOCALHOST:${allowLocalhost}`],
  {
    stdio: ["inherit", "pipe", "pipe"],
    env,
  },
);
// Offline, wrangler warns on every start that it cannot fetch `request.cf`: harmless, and hidden.
const HARMLESS =
  /Unable to fetch the `Request.cf`|getaddrinfo ENOTFOUND workers.cloudflare.com|at GetAddrInfoReqWrap|callbackTrampoline/;
for (const [from, to] of [
  [dev.stdout, process.stdout],
  [dev.stderr, process.stderr],
]) {
  let rest = "";
  from.on("data", (chunk) => {
    const lines = (rest + chunk).split("\n");
    rest = lines.pop() ?? "";
    for (const line of lines) if (!HARMLESS.test(line)) to.write(`${line}\n`);
  });
}
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => dev.kill(signal));
dev.on("exit", (code) => process.exit(code ?? 0));

async function waitForHealth() {
  for (let i = 0; i < 120; i++) {
    try {
      if ((await fetch(`${BASE}/healthz`)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error("wrangler dev did not come up");
}

async function demoWorkspace() {
  if (existsSync(".wrangler/demo.json")) return JSON.parse(readFileSync(".wrangler/demo.json", "utf8"));
  const res = await fetch(`${BASE}/v1/workspaces`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: JSON.stringify({
      name: "Demo workspace",
      slug: "demo",
      owner: { name: "Demo Owner", email: "owner@demo.test" },
      allowJoinRequests: true,
    }),
  });
  if (res.status !== 201) throw new Error(`demo workspace: ${res.status} ${await res.text()}`);
  const body = await res.json();
  const demo = { workspaceId: body.workspace.id, apiKey: body.apiKey };
  const people = [
    { name: "Ada Lovelace", email: "ada@demo.test", role: "manager", labels: ["vip-desk"] },
    { name: "Grace Hopper", email: "grace@demo.test", phone: "+14155550101", labels: ["vip", "enterprise"] },
    { name: "Alan Turing", phone: "+442079460958", externalId: "crm-42", labels: ["new-customer"] },
  ];
  for (const person of people) {
    await fetch(`${BASE}/v1/members`, {
      method: "POST",
      headers: { Authorization: `Bearer ${demo.apiKey}`, "Content-Type": "application/json" },
      body: JSON.stringify(person),
    });
  }
  writeFileSync(".wrangler/demo.json", JSON.stringify(demo, null, 2));
  return demo;
}

await waitForHealth();
await finishUpgrades(BASE, token);
const demo = await demoWorkspace();
console.log(`
  Live members is running at ${BASE}
  Demo workspace ${demo.workspaceId}
  Owner API key  ${demo.apiKey}
  Admin URL      ${BASE}/sign-in?workspace=demo  (sign in as owner@demo.test; the link is in the outbox:
                 curl -H "Authorization: Bearer ${demo.apiKey}" "${BASE}/v1/outbox?to=owner@demo.test")
  Join page      ${BASE}/join/demo
  API reference  ${BASE}/openapi.json
  Try: curl -H "Authorization: Bearer ${demo.apiKey}" ${BASE}/v1/members
`);
