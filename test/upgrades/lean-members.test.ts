import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import * as v from "valibot";
import { beforeAll, describe, expect, it } from "vitest";
import { database } from "../../worker/lib/db";
import { listMembers } from "../../worker/members/reads";
import { ListMembersQuery } from "../../worker/members/schema";
import { readState, step, type UpgradeState } from "../../worker/upgrades/lean-members";
import { isLean } from "../../worker/upgrades/state";

/**
 * The lean layout's online upgrade (worker/upgrades/lean-members.ts), on a database of
 * its own (UPGRADE_DB) brought to the migrations before it, seeded in the old layout, then
 * migrated and upgraded in small steps while members are written, as a deployment's would
 * be: nothing lost or doubled, and every list and search answers as it did.
 */
const d1 = env.UPGRADE_DB;
const db = database(d1);
const WS = "ws_upgrade";
const LABELS = ["vip", "beta", "trial", "gold"];
const FIRST = ["Ada", "Grace", "Alan", "Olivia", "Liam", "Ann"];
const LAST = ["Lovelace", "Hopper", "Turing", "Smith", "Annson"];

const before = env.TEST_MIGRATIONS.filter((m) => m.name < "0017");
const rest = env.TEST_MIGRATIONS.filter((m) => m.name >= "0017");

function memberValues(i: number) {
  const first = FIRST[i % FIRST.length] ?? "";
  const last = LAST[(i * 7) % LAST.length] ?? "";
  const labels = LABELS.filter((_, k) => (i >> k) % 3 === 0).sort();
  const us = i % 3 === 0;
  const phone = i % 4 === 3 ? null : us ? `+1415555${String(1000 + i)}` : `+44207946${String(1000 + i)}`;
  const national = phone && (us ? phone.slice(2) : phone.slice(3));
  const id = `mem_${String(i).padStart(8, "0")}`;
  const at = new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString();
  return [
    id,
    WS,
    `${first} ${last}`,
    i % 5 === 4 ? null : `${first}.${last}.${i}@x.test`.toLowerCase(),
    phone,
    national,
    i % 6 === 0 ? `crm-${i}` : null,
    null,
    i % 10 === 0 ? "manager" : "user",
    i % 10 === 0 ? "team" : "customer",
    i % 9 === 8 ? "archived" : "active",
    JSON.stringify(labels),
    at,
    at,
  ];
}

const insertMember = (i: number) =>
  d1
    .prepare(
      `insert into members (id, workspace_id, name, email, phone, phone_national, external_id, description, role, type,
        status, labels, created_at, updated_at) values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)`,
    )
    .bind(...memberValues(i));

const QUERIES = [
  "",
  "status=archived",
  "type=team",
  "role=user",
  "label=vip",
  "label=vip&label=beta",
  "label=beta&label=gold&label=trial",
  "q=ann",
  "q=smi",
  "q=olivia.",
  "q=%2B1415",
  "q=2079",
  "q=415%20555",
  "q=a&label=vip&type=customer",
];

/** Every member a list answers, walking all its pages through the code the Worker runs. */
async function answer(qs: string) {
  const params = Object.fromEntries(new URLSearchParams(qs));
  const labels = new URLSearchParams(qs).getAll("label");
  const ids: string[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 100; pages++) {
    const query = v.parse(ListMembersQuery, {
      ...params,
      ...(labels.length ? { label: labels } : {}),
      limit: "7",
      cursor,
    });
    const page = await listMembers(db, WS, query);
    ids.push(...page.data.map((m) => m.id));
    if (!page.nextCursor) return ids.sort();
    cursor = page.nextCursor;
  }
  throw new Error("the list never ended");
}

const answers = async () => Object.fromEntries(await Promise.all(QUERIES.map(async (q) => [q, await answer(q)])));

const rowsOf = async (table: string, order: string) =>
  (await d1.prepare(`select * from ${table} order by ${order}`).all()).results;

/** Steps until one of `phases`; `now` past the cleanup's grace lets it empty the old index tables at once. */
async function stepUntil(
  phases: UpgradeState["phase"][],
  size: number,
  between?: (n: number) => Promise<void>,
  now = Date.now(),
) {
  for (let n = 0; n < 10_000; n++) {
    const state = await readState(d1);
    if (!state || phases.includes(state.phase)) return state;
    await step(d1, state, size, now);
    await between?.(n);
  }
  throw new Error("the upgrade did not get there");
}

const AFTER_GRACE = Date.now() + 120_000;
/** What the old layout answered just before the swap, which the new one must answer. */
let expected: Record<string, string[]> = {};

describe("the online upgrade to the lean member layout", () => {
  beforeAll(async () => {
    await applyD1Migrations(d1, before);
    await d1.batch([
      d1
        .prepare(
          "insert into workspaces (id, slug, name, allow_join_requests, created_at) values (?1, 'upgrade', 'Upgrade', 0, '2026-01-01T00:00:00Z')",
        )
        .bind(WS),
      d1
        .prepare(
          "insert into roles (workspace_id, key, name, type, scopes, built_in, created_at, updated_at) values (?1, 'manager', 'Manager', 'team', '[]', 1, 'x', 'x'), (?1, 'user', 'User', 'customer', '[]', 1, 'x', 'x')",
        )
        .bind(WS),
      ...Array.from({ length: 240 }, (_, i) => insertMember(i)),
      ...Array.from({ length: 240 }, (_, i) =>
        d1
          .prepare(
            "insert into events (workspace_id, seq, type, at, data) values (?1, ?2, 'member.created', 'x', json_object('member', json_object('id', ?3)))",
          )
          .bind(WS, i + 1, `mem_${String(i).padStart(8, "0")}`),
      ),
    ]);
  });

  it("copies in bounded steps while members are written, swaps, and lists answer as before", async () => {
    const old = await answers();
    expect(await isLean(db)).toBe(false);
    await applyD1Migrations(d1, rest);
    // Writes of every kind land between the copy's steps, on members copied and not yet copied.
    let next = 240;
    const write = async (n: number) => {
      const id = `mem_${String((n * 37) % 240).padStart(8, "0")}`;
      await d1.batch([
        d1
          .prepare("update members set labels = json_array('gold', 'vip'), name = 'Zed ' || name where id = ?1")
          .bind(id),
        insertMember(next++),
        d1
          .prepare("update members set status = 'archived' where id = ?1 and status = 'active'")
          .bind(`mem_${String((n * 11) % 240).padStart(8, "0")}`),
        // Attributes came after the mirror triggers (migrations/0021): the swap carries them over.
        d1
          .prepare("update members set attributes = json_object('visits', ?2) where id = ?1")
          .bind(`mem_${String((n * 13) % 240).padStart(8, "0")}`, n),
      ]);
    };
    await stepUntil(["swap"], 9, write);
    // The old layout is still the live one: what it answers now is what the new one must answer.
    expected = await answers();
    expect(expected).not.toEqual(old);
    expect(await isLean(db)).toBe(false);
    const members = await rowsOf("members", "id");
    expect(members.filter((m) => m.attributes !== null).length).toBeGreaterThan(5);
    const events = await rowsOf("events", "workspace_id, seq");
    await stepUntil(["cleanup", "done"], 9);
    expect(await isLean(db)).toBe(true);
    expect(await rowsOf("members", "id")).toEqual(members);
    expect(await rowsOf("events", "workspace_id, seq")).toEqual(events);
    expect(await answers()).toEqual(expected);
  });

  it("repeats a step run twice at once, or again after it committed, without a row twice", async () => {
    const state = await readState(d1);
    if (!state) throw new Error("no upgrade state");
    // Run from the same stored state twice, as two invocations would: the guarded state moves once.
    const members = await rowsOf("members", "id");
    await Promise.all([step(d1, state, 5, AFTER_GRACE), step(d1, state, 5, AFTER_GRACE)]);
    await step(d1, state, 5, AFTER_GRACE);
    const done = await stepUntil(["done"], 50, undefined, AFTER_GRACE);
    expect(done?.phase).toBe("done");
    const tables = await d1
      .prepare(
        "select name from sqlite_master where type = 'table' and name in ('members_old', 'events_old', 'member_labels', 'member_label_pairs', 'member_search')",
      )
      .all();
    expect(tables.results).toEqual([]);
    expect(await rowsOf("members", "id")).toEqual(members);
    expect(await answers()).toEqual(expected);
  });
});
