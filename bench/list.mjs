// `npm run bench:list`: seeds 100,000 members into a local D1 of its own in the layout
// before migrations/0017, then measures every member list filter through `wrangler dev`:
// the D1 rows read for a page of 50 (first page and a deep one, from the Worker's
// Server-Timing header) and the median and p95 latency; upgrades the same data online to
// the lean layout and measures again, checking each list answers the same; then the rows
// each kind of write costs, the bytes a member takes in each layout, and the bytes a member
// with every field adds (imported). Prints Markdown tables and writes them to bench/out/list.md.
//
// BENCH_MEMBERS changes the member count, BENCH_MARGINAL the imported members; BENCH_KEEP=1
// keeps bench/out/state afterwards.
import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { migrateAll } from "../scripts/db-migrate.mjs";
import { finishUpgrades } from "../scripts/finish-upgrades.mjs";
import { persistedDev } from "./persisted-dev.mjs";
import { LABELS, seedSql } from "./seed.mjs";

const MEMBERS = Number(process.env.BENCH_MEMBERS ?? 100_000);
/** Members imported after the seed, each with email, phone, external ID, two labels and a description, for the marginal bytes. */
const MARGINAL = Number(process.env.BENCH_MARGINAL ?? 20_000);
const PAGE = 50;
const DEEP_PAGE = 10;
const RUNS = 50;
const CUSTOM_ROLE = "support";
const OUT = "bench/out";
const STATE = `${OUT}/state`;
const DEADLINE_MS = 6 * 60_000;
const env = { ...process.env, WRANGLER_SEND_METRICS: "false" };
const token = randomBytes(24).toString("base64url");

/** Each list filter of the contract as a query string, and the page measured as the deep one. */
const FILTERS = [
  ["default (status=active)", ""],
  ["status=archived", "status=archived"],
  ["type=team", "type=team"],
  ["type=customer", "type=customer"],
  ["role=manager", "role=manager"],
  ["role=user", "role=user"],
  [`role=${CUSTOM_ROLE} (custom)`, `role=${CUSTOM_ROLE}`],
  ["label=vip", "label=vip"],
  ["label=vip&label=beta", "label=vip&label=beta"],
  ["q=mar (name prefix)", "q=mar"],
  ["q=garc (last-name prefix)", "q=garc"],
  // Every Olivia matches by name and again by email ("olivia.…@"): past the name matches, a
  // search walks the email terms of members it has listed already.
  ["q=olivia (first name)", "q=olivia", { deepPage: 40 }],
  ["q=olivia. (email prefix)", "q=olivia."],
  ["q=+1415 (phone prefix)", `q=${encodeURIComponent("+1415")}`],
  ["q=415 555 (national digits)", `q=${encodeURIComponent("415 555")}`],
];

const log = (...args) => console.error("[bench]", ...args);

// --- wrangler -----------------------------------------------------------------------

// DEBUG_METRICS: the Worker reports D1's rows read and written in Server-Timing only when asked.
const vars = [`PLATFORM_TOKEN:${token}`, "DEBUG_METRICS:1"];
const dev = persistedDev({ state: STATE, logPath: `${OUT}/wrangler-dev.log`, vars, env });
const { wrangler } = dev;

// --- HTTP -----------------------------------------------------------------------------

async function api(base, method, path, { key, body } = {}) {
  const started = performance.now();
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { Authorization: `Bearer ${key}`, ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await res.json();
  const ms = performance.now() - started;
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return { json, ms, ...d1Rows(res.headers.get("Server-Timing")) };
}

function d1Rows(serverTiming) {
  const match = /d1;[^,]*rows_read=(\d+) rows_written=(\d+)/.exec(serverTiming ?? "");
  if (!match) throw new Error(`no d1 rows_read in Server-Timing: ${serverTiming}`);
  return { rowsRead: Number(match[1]), rowsWritten: Number(match[2]) };
}

const withQuery = (qs, extra) => `/v1/members?${[qs, extra].filter(Boolean).join("&")}`;

// --- what a list answers must match its filter ----------------------------------------

function searchTerms(m) {
  const name = m.name.replace(/[A-Z]/g, (ch) => ch.toLowerCase());
  const space = name.indexOf(" ");
  const national = m.phone ? m.phone.slice(2) : null; // the bench seeds +1 numbers only
  return [name, space > 0 ? name.slice(space + 1) : null, m.email, m.phone?.slice(1), national].filter(Boolean);
}

function mismatch(member, qs) {
  const params = new URLSearchParams(qs);
  if (member.status !== (params.get("status") ?? "active")) return "status";
  if (params.has("type") && member.type !== params.get("type")) return "type";
  if (params.has("role") && member.role !== params.get("role")) return "role";
  if (!params.getAll("label").every((l) => member.labels.includes(l))) return "label";
  const q = params.get("q");
  if (q) {
    const prefix = /^[+\d\s().-]+$/.test(q) ? q.replace(/\D/g, "") : q.toLowerCase();
    if (!searchTerms(member).some((t) => t.startsWith(prefix))) return "q";
  }
  return null;
}

// --- what writes cost ------------------------------------------------------------------

/**
 * D1's rows written (and read) by each kind of member write, from the same Server-Timing
 * header: what the triggers that keep member_labels and member_search add to every write.
 * Each write also appends its event (one row and its index).
 */
async function writeCosts(base, key) {
  const costs = [];
  const cost = async (name, method, path, body) => {
    const r = await api(base, method, path, { key, body });
    costs.push({ name, rowsWritten: r.rowsWritten, rowsRead: r.rowsRead });
    return r.json;
  };
  const plain = await cost("create (no labels)", "POST", "/v1/members", {
    name: "Write Cost",
    email: "write.cost@bench.test",
    phone: "+14155559999",
  });
  const member = await cost("create (2 labels)", "POST", "/v1/members", {
    name: "Write Costlabels",
    email: "write.cost.labels@bench.test",
    phone: "+14155559998",
    labels: ["vip", "beta"],
  });
  await cost("create (5 labels)", "POST", "/v1/members", {
    name: "Write Costfive",
    email: "write.cost.five@bench.test",
    labels: ["vip", "beta", "trial", "events", "partner"],
  });
  await cost("patch description (no labels)", "PATCH", `/v1/members/${plain.id}`, { description: "changed" });
  await cost("patch description (2 labels)", "PATCH", `/v1/members/${member.id}`, { description: "changed" });
  await cost("patch name (2 labels)", "PATCH", `/v1/members/${member.id}`, { name: "Written Costlabels" });
  await cost("add a label (2 → 3)", "POST", `/v1/members/${member.id}/labels`, { labels: ["trial"] });
  await cost("remove a label (3 → 2)", "DELETE", `/v1/members/${member.id}/labels/trial`);
  await cost("archive (2 labels)", "POST", `/v1/members/${member.id}/archive`);
  await cost("unarchive (2 labels)", "POST", `/v1/members/${member.id}/unarchive`);
  return costs;
}

// --- measuring ------------------------------------------------------------------------

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

async function measure(base, key, qs, deepPage) {
  const seen = new Set();
  const walked = [];
  const problems = [];
  const check = (page, n) => {
    if (page.json.data.length > PAGE) problems.push(`page ${n} has ${page.json.data.length} items`);
    for (const m of page.json.data) {
      const wrong = mismatch(m, qs);
      if (wrong) problems.push(`page ${n}: ${m.id} does not match ${wrong}`);
      if (seen.has(m.id)) problems.push(`page ${n}: ${m.id} listed twice`);
      seen.add(m.id);
      walked.push(m.id);
    }
  };
  const first = await api(base, "GET", withQuery(qs), { key });
  check(first, 1);
  let deep = first;
  let pageNo = 1;
  while (pageNo < deepPage && deep.json.nextCursor) {
    deep = await api(base, "GET", withQuery(qs, `cursor=${encodeURIComponent(deep.json.nextCursor)}`), { key });
    pageNo++;
    check(deep, pageNo);
  }
  const times = [];
  for (let i = 0; i < RUNS; i++) times.push((await api(base, "GET", withQuery(qs), { key })).ms);
  times.sort((a, b) => a - b);
  return {
    items: first.json.data.length,
    rowsFirst: first.rowsRead,
    rowsDeep: deep.rowsRead,
    deepPage: pageNo,
    p50: percentile(times, 50),
    p95: percentile(times, 95),
    walked,
    problems,
  };
}

/** EXPLAIN QUERY PLAN of the statements the Worker runs for each filter (optional: needs tsx). */
async function explain(workspaceId) {
  let listSql;
  try {
    const { tsImport } = await import("tsx/esm/api");
    ({ listSql } = await tsImport("./list-sql.mjs", import.meta.url));
  } catch (err) {
    log(`no EXPLAIN QUERY PLAN (tsx could not load worker/members/reads.ts: ${err.message})`);
    return null;
  }
  process.env.WRANGLER_LOG ??= "error"; // getPlatformProxy's warnings are about bindings the plans do not use
  const { getPlatformProxy } = await import("wrangler");
  const proxy = await getPlatformProxy({ persist: { path: `${STATE}/v3` }, remoteBindings: false });
  try {
    const plans = [];
    for (const [name, qs] of FILTERS) {
      for (const { sql, params } of await listSql(workspaceId, qs)) {
        const { results } = await proxy.env.SHARD_0.prepare(`EXPLAIN QUERY PLAN ${sql}`)
          .bind(...params)
          .all();
        const plan = results.map((r) => `${"  ".repeat(depth(results, r))}${r.detail}`).join("\n");
        plans.push(`### ${name}\n\n\`\`\`sql\n${sql}\n\`\`\`\n\n\`\`\`\n${plan}\n\`\`\``);
      }
    }
    return plans.join("\n\n");
  } finally {
    await proxy.dispose();
  }
}

function depth(rows, row) {
  let d = 0;
  for (let parent = row.parent; parent; d++) parent = rows.find((r) => r.id === parent)?.parent;
  return d;
}

/** The database objects (tables and their indexes) of each layout: its bytes are theirs. */
const LAYOUTS = {
  old: ["members", "member_labels", "member_label_pairs", "member_search", "events"],
  lean: [
    "members",
    "members_by_label",
    "members_by_label_pair",
    "members_by_term",
    "workspace_calling_codes",
    "events",
  ],
};

/**
 * Opens the local D1 database of shard 0, where the benchmark's workspace is (the server must
 * be stopped), its write-ahead log checkpointed into it: of the local databases (the directory
 * and the shards), the one with members and a workspace.
 */
function localDatabase(dir) {
  const files = readdirSync(dir, { recursive: true, withFileTypes: true }).filter(
    (e) => e.isFile() && e.name.endsWith(".sqlite") && e.name !== "metadata.sqlite",
  );
  for (const entry of files) {
    const db = new DatabaseSync(join(entry.parentPath, entry.name));
    const holds = (table) =>
      db.prepare("select 1 as found from sqlite_master where type = 'table' and name = ?").get(table) !== undefined;
    if (holds("members") && holds("workspaces") && db.prepare("select count(*) as n from workspaces").get().n > 0) {
      db.exec("pragma wal_checkpoint(TRUNCATE)");
      return db;
    }
    db.close();
  }
  throw new Error(`no shard with a workspace in ${dir}`);
}

/** Bytes the pages of `tables` and their indexes take (SQLite's dbstat), free pages left out. */
function layoutBytes(tables) {
  const db = localDatabase(`${STATE}/v3/d1`);
  try {
    const list = tables.map((t) => `'${t}'`).join(", ");
    return db
      .prepare(`select coalesce(sum(pgsize), 0) as bytes from dbstat where name in (
        select name from sqlite_master where name in (${list}) or tbl_name in (${list}))`)
      .get().bytes;
  } finally {
    db.close();
  }
}

/**
 * As if the seed had gone in before the lean layout's migration: what its mirror triggers
 * copied into the new tables is taken out again, so the upgrade copies it all.
 */
function unmirror() {
  const db = localDatabase(`${STATE}/v3/d1`);
  try {
    db.exec("delete from members_next; delete from events_next; delete from workspace_calling_codes;");
  } finally {
    db.close();
  }
}

/** A CSV of `rows` new members, each with email, phone, external ID, name, a description and two labels. */
function fullMembersCsv(rows) {
  const lines = ["email,phone,external_id,name,description,labels"];
  for (let i = 0; i < rows; i++) {
    const phone = `+1917${200 + Math.floor(i / 10_000)}${String(i % 10_000).padStart(4, "0")}`;
    lines.push(
      `full.member.${i}@bench.test,${phone},crm-full-${i},Full Member${i},Met at the 2026 trade fair,"vip,beta"`,
    );
  }
  return `${lines.join("\r\n")}\r\n`;
}

/** Imports MARGINAL full members through the API and waits for the import to end. */
async function importFullMembers(base, key) {
  const res = await fetch(`${base}/v1/imports?role=user`, {
    method: "POST",
    headers: { Authorization: `Bearer ${key}`, "Content-Type": "text/csv" },
    body: fullMembersCsv(MARGINAL),
  });
  if (res.status !== 202) throw new Error(`POST /v1/imports: ${res.status} ${await res.text()}`);
  const { id } = await res.json();
  for (;;) {
    const state = (await api(base, "GET", `/v1/imports/${id}`, { key })).json;
    if (state.status === "completed" && state.failed === 0) return;
    if (state.status !== "running") throw new Error(`import ${state.status}: ${JSON.stringify(state).slice(0, 500)}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** Every filter measured in turn, on the layout that is live. */
async function measureAll(base, key, layout) {
  const results = [];
  for (const [name, qs, { deepPage = DEEP_PAGE } = {}] of FILTERS) {
    const r = await measure(base, key, qs, deepPage);
    results.push({ name, wantedPage: deepPage, ...r });
    log(`${layout} ${name}: ${r.rowsFirst} / ${r.rowsDeep} rows read, p50 ${r.p50.toFixed(1)} ms`);
  }
  return results;
}

/** Whether two layouts walked the same members in the same order. */
const sameAnswer = (a, b) => a.walked.length === b.walked.length && a.walked.every((id, i) => id === b.walked[i]);

// --- the run --------------------------------------------------------------------------

async function main() {
  const started = performance.now();
  rmSync(STATE, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  rmSync(`${OUT}/wrangler-dev.log`, { force: true });

  log("applying migrations to", STATE);
  migrateAll({ persistTo: STATE, quiet: true });

  log("creating the workspace, its labels and a custom role through the API");
  let base = await dev.start();
  const created = await api(base, "POST", "/v1/workspaces", {
    key: token,
    body: {
      name: "Bench",
      slug: `bench-${Date.now().toString(36)}`,
      // On shard 0, which the seed below writes to.
      shard: 0,
      owner: { name: "Bench Owner", email: "owner@bench.test" },
    },
  });
  const workspaceId = created.json.workspace.id;
  const key = created.json.apiKey;
  await api(base, "POST", "/v1/roles", {
    key,
    body: { key: CUSTOM_ROLE, name: "Support", type: "team", scopes: ["members:read", "labels:read"] },
  });
  for (const slug of LABELS) await api(base, "POST", "/v1/labels", { key, body: { name: slug, slug } });
  // The seed goes into the database file directly: stop the server so only one process writes it.
  await dev.stop();

  log(`seeding ${MEMBERS} members in the old layout`);
  const seedFile = `${OUT}/seed.sql`;
  writeFileSync(seedFile, seedSql({ workspaceId, customRole: CUSTOM_ROLE, count: MEMBERS }));
  wrangler(["d1", "execute", "SHARD_0", "--local", "--persist-to", STATE, "--file", seedFile, "--yes"]);
  rmSync(seedFile);
  unmirror();
  const oldBytes = layoutBytes(LAYOUTS.old);

  base = await dev.start();
  for (const [, qs] of FILTERS) await api(base, "GET", withQuery(qs), { key }); // warm up
  const auth = await api(base, "GET", "/v1/workspace", { key });
  const old = await measureAll(base, key, "old");

  log("upgrading to the lean layout online (POST /v1/platform/upgrades)");
  const upgradeStarted = performance.now();
  const progress = await finishUpgrades(base, token);
  const upgradeSeconds = (performance.now() - upgradeStarted) / 1000;
  for (const [, qs] of FILTERS) await api(base, "GET", withQuery(qs), { key }); // warm up
  const lean = await measureAll(base, key, "lean");
  const costs = await writeCosts(base, key);
  await dev.stop();
  const leanBytes = layoutBytes(LAYOUTS.lean);

  log(`importing ${MARGINAL} members with every field, for the bytes each adds`);
  base = await dev.start();
  await importFullMembers(base, key);
  await dev.stop();
  const marginal = Math.round((layoutBytes(LAYOUTS.lean) - leanBytes) / MARGINAL);
  const results = lean.map((r, i) => ({ ...r, old: old[i], differs: sameAnswer(old[i], r) ? null : "differs" }));

  const plans = await explain(workspaceId);
  const goal = 3 * PAGE;
  const over = (n) => (n > goal ? `**${n}**` : `${n}`);
  const deepOf = (r) =>
    r.deepPage === DEEP_PAGE
      ? over(r.rowsDeep)
      : `${over(r.rowsDeep)} (page ${r.deepPage}${r.deepPage < r.wantedPage ? ", the last" : ""})`;
  const table = [
    "| filter | rows_read page 1 (old → lean) | rows_read deep page (old → lean) | p50 ms (old → lean) | p95 ms (old → lean) |",
    "| --- | ---: | ---: | ---: | ---: |",
    ...results.map(
      (r) =>
        `| ${r.name} | ${r.old.rowsFirst} → ${over(r.rowsFirst)} | ${r.old.rowsDeep} → ${deepOf(r)} | ` +
        `${r.old.p50.toFixed(1)} → ${r.p50.toFixed(1)} | ${r.old.p95.toFixed(1)} → ${r.p95.toFixed(1)} |`,
    ),
  ].join("\n");
  const notes = [
    `${MEMBERS.toLocaleString("en")} members in one workspace; pages of ${PAGE}; deep page = page ${DEEP_PAGE} (nextCursor followed ${DEEP_PAGE - 1} times);`,
    `latency = ${RUNS} sequential requests of page 1 through \`wrangler dev\` on this machine.`,
    `rows_read is the whole request's, as D1 reports it in the Worker's Server-Timing header: ${auth.rowsRead - 1} of it`,
    `is the API key lookup (GET /v1/workspace, that and one row, reads ${auth.rowsRead}). Goal: at most ${goal}; **bold** is over it.`,
    `old: the layout before migrations/0017 (index rows carrying the member's JSON), seeded; lean: the same data after its`,
    `online upgrade, which took ${upgradeSeconds.toFixed(1)} s (phase ${progress.phase}). Each list's first ${DEEP_PAGE} pages answer the same`,
    `members in the same order in both layouts${results.some((r) => r.differs) ? ", except where marked: **DIFFERENT ANSWERS**" : ""}.`,
  ].join("\n");
  const writes = [
    "| write | rows_written | rows_read |",
    "| --- | ---: | ---: |",
    ...costs.map((c) => `| ${c.name} | ${c.rowsWritten} | ${c.rowsRead} |`),
  ].join("\n");
  const size = [
    `Bytes a member at ${MEMBERS.toLocaleString("en")} seeded members (pages of the members, index and event tables and their indexes):`,
    `old ${Math.round(oldBytes / MEMBERS)}, lean ${Math.round(leanBytes / MEMBERS)}.`,
    `A member imported with email, phone, external ID, two labels and a description adds ${marginal} bytes`,
    `(${MARGINAL.toLocaleString("en")} imported after the seed; write-ahead log checkpointed; events and import bookkeeping included). Goal: at most 2,000.`,
  ].join("\n");
  const problems = results.flatMap((r) => [
    ...(r.differs ? [`- ${r.name}: the lean layout answers other members than the old one`] : []),
    ...r.old.problems.slice(0, 5).map((p) => `- ${r.name} (old): ${p}`),
    ...r.problems.slice(0, 5).map((p) => `- ${r.name}: ${p}`),
    ...(r.problems.length > 5 ? [`- ${r.name}: ${r.problems.length - 5} more`] : []),
  ]);
  const markdown = [
    "# Member list benchmark",
    "",
    table,
    "",
    notes,
    "",
    writes,
    "",
    size,
    ...(problems.length ? ["", "## Wrong results", "", ...problems] : []),
    ...(plans ? ["", "## Query plans", "", plans] : []),
    "",
  ].join("\n");
  writeFileSync(`${OUT}/list.md`, markdown);
  console.log(`\n${table}\n\n${notes}\n\n${writes}\n\n${size}\n`);
  if (problems.length) console.log(`WRONG RESULTS:\n${problems.join("\n")}\n`);
  console.log(
    `Written to ${OUT}/list.md (with the query plans) in ${((performance.now() - started) / 1000).toFixed(0)} s.`,
  );
  if (!process.env.BENCH_KEEP) rmSync(STATE, { recursive: true, force: true });
  if (problems.length) process.exitCode = 1;
}

const deadline = setTimeout(() => {
  log(`gave up after ${DEADLINE_MS / 1000} s`);
  dev.kill();
  process.exit(1);
}, DEADLINE_MS);
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    dev.kill();
    process.exit(130);
  });
}

try {
  await main();
} catch (err) {
  log(err.stack ?? String(err));
  process.exitCode = 1;
} finally {
  await dev.stop();
  clearTimeout(deadline);
}
