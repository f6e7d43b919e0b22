// `npm start`: local D1 migrated (the directory and every shard), a demo workspace on first start, then `wrangler dev`
// (which builds the admin view, wrangler.toml's [build]), and a short banner with a
// sign-in link for the demo owner. PORT and PERSIST_TO (wrangler's local state
// directory, default .wrangler/state) are optional.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { migrateAll } from "./db-migrate.mjs";
import { finishUpgrades } from "./finish-upgrades.mjs";

const PORT = process.env.PORT ?? "8787";
const BASE = `http://localhost:${PORT}`;
const PERSIST_TO = process.env.PERSIST_TO;
const persist = PERSIST_TO ? ["--persist-to", PERSIST_TO] : [];
const DEMO_FILE = PERSIST_TO ? `${PERSIST_TO}/demo.json` : ".wrangler/demo.json";
const OWNER_EMAIL = "owner@demo.test";
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
// The directory and every shard (npm run db:migrate); quiet unless it fails: wrangler prints a table per migration.
try {
  migrateAll({ persistTo: PERSIST_TO, quiet: true, env });
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : err}\n`);
  process.exit(1);
}

// Locally, webhooks may go to receivers on this machine (http://localhost, 127.0.0.1): never
// deployed, as `--var` lives only on this command line. WEBHOOK_ALLOW_LOCALHOST=0 keeps the production rule.
const allowLocalhost = process.env.WEBHOOK_ALLOW_LOCALHOST === "0" ? "0" : "1";
const dev = spawn(
  "npx",
  [
    "wrangler",
    "dev",
    "--port",
    PORT,
    "--ip",
    "127.0.0.1",
    ...persist,
    "--var",
    `WEBHOOK_ALLOW_LOCALHOST:${allowLocalhost}`,
  ],
  {
    stdio: ["inherit", "pipe", "pipe"],
    env,
  },
);
// Offline, wrangler warns on every start that it cannot fetch `request.cf`: harmless, and hidden;
// so are its bindings table, the Cron reminder and the build's npm echo (its errors still show).
const HARMLESS = new RegExp(
  [
    /Unable to fetch the `Request.cf`|getaddrinfo ENOTFOUND workers.cloudflare.com|at GetAddrInfoReqWrap|callbackTrampoline/,
    /^Your Worker has access to the following bindings:|^Binding\s+Resource\s+Mode|^env\.\S+ .*\s(local|remote)\s*$/,
    /Scheduled Workers are not automatically triggered|To manually trigger a scheduled event|\/cdn-cgi\/local\/scheduled|test-cron-triggers-locally/,
    /^\[custom build\]\s*(>.*)?$/,
  ]
    .map((r) => r.source)
    .join("|"),
);
// Until the banner is out, blank lines and the log of this script's own requests are hidden too.
const OWN_REQUEST = /^\[wrangler:info\] (GET|POST) \S+ \d{3} /;
let starting = true;
for (const [from, to] of [
  [dev.stdout, process.stdout],
  [dev.stderr, process.stderr],
]) {
  let rest = "";
  from.on("data", (chunk) => {
    const lines = (rest + chunk).split("\n");
    rest = lines.pop() ?? "";
    for (const line of lines) {
      if (HARMLESS.test(line) || (starting && (line.trim() === "" || OWN_REQUEST.test(line)))) continue;
      to.write(`${line}\n`);
    }
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
  if (existsSync(DEMO_FILE)) return JSON.parse(readFileSync(DEMO_FILE, "utf8"));
  const res = await fetch(`${BASE}/v1/workspaces`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: JSON.stringify({
      name: "Demo workspace",
      slug: "demo",
      owner: { name: "Demo Owner", email: OWNER_EMAIL },
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
  writeFileSync(DEMO_FILE, JSON.stringify(demo, null, 2));
  return demo;
}

/**
 * A sign-in link for the demo owner, issued as every sign-in is (POST /v1/auth/login:
 * single use, 15 minutes) and read back from the local outbox, where messages land when
 * no email provider is configured. Null when it went out by email instead.
 */
async function ownerSignInLink(demo) {
  const asked = new Date().toISOString();
  const res = await fetch(`${BASE}/v1/auth/login`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ workspace: "demo", email: OWNER_EMAIL }),
  });
  if (res.status !== 202) return null;
  // The link is issued after the 202 (worker/sessions/routes.ts): look until it lands.
  for (let tries = 0; tries < 40; tries++) {
    const outbox = await fetch(`${BASE}/v1/outbox?to=${encodeURIComponent(OWNER_EMAIL)}`, {
      headers: { Authorization: `Bearer ${demo.apiKey}` },
    });
    if (outbox.ok) {
      const { data } = await outbox.json();
      const message = data.find((m) => m.createdAt >= asked && m.text.includes("/sign-in#token="));
      const link = message && /\S+\/sign-in#token=\S+/.exec(message.text)?.[0];
      if (link) return link;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return null;
}

await waitForHealth();
await finishUpgrades(BASE, token);
const demo = await demoWorkspace();
const link = await ownerSignInLink(demo);
starting = false;
console.log(`
  Live members is running at ${BASE}
  Sign in        ${link ?? `${BASE}/sign-in?workspace=demo (the link went to ${OWNER_EMAIL})`}
                 as the demo owner, ${OWNER_EMAIL}: the link works once, for 15 minutes
  Owner API key  ${demo.apiKey}
  Join page      ${BASE}/join/demo
  API reference  ${BASE}/openapi.json
  Try: curl -H "Authorization: Bearer ${demo.apiKey}" ${BASE}/v1/members
`);
