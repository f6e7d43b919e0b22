import { describe, expect, it } from "vitest";
import { confirmChange, startChange } from "../credentials/helpers";
import { shardDb } from "../db";
import { addMember, addRole, call, newWorkspace, type Workspace, walkPages } from "../helpers";
import { csv, importCsv } from "../imports/helpers";
import { latestToken } from "../links";
import { configureSms, newNumber, postInbound, smsParams } from "../provider/twilio";

// biome-ignore lint/suspicious/noExplicitAny: tests read JSON bodies freely
type Json = any;

/** Pairs a member's labels index (worker/members/table.ts: PAIRED_LABELS_MAX). */
const PAIRED_LABELS_MAX = 6;

const get = async (ws: Workspace, id: string): Promise<Json> => {
  const res = await call("GET", `/v1/members/${id}`, { key: ws.key });
  expect(res.status).toBe(200);
  return res.body;
};

/** The member as a list answers it, or undefined when the list does not have it. */
async function listed(ws: Workspace, query: string, id: string): Promise<Json> {
  const res = await call("GET", `/v1/members?limit=100&${query}`, { key: ws.key });
  expect(res.status).toBe(200);
  return res.body.data.find((m: Json) => m.id === id);
}

const q = (text: string) => `q=${encodeURIComponent(text)}`;

/** The search terms a member has (worker/members/table.ts, members_by_term): name, last name, email. */
const termsOf = (m: Json): string[] =>
  [
    m.name.toLowerCase(),
    m.name.includes(" ") ? m.name.slice(m.name.indexOf(" ") + 1).toLowerCase() : null,
    m.email,
  ].filter(Boolean);

/**
 * The member's JSON from GET /v1/members/{id} is what every list that should have it
 * answers: by each label, by each pair of labels, and by a search for its name, email and
 * phone, in its status; and lists of another status do not have it. Also checks that the
 * member has exactly the index rows it should, in its status (none left over: the triggers
 * find a member's rows by their keys, from the values it had).
 */
async function expectSameEverywhere(ws: Workspace, id: string) {
  const member = await get(ws, id);
  const status = `status=${member.status}`;
  const labels: string[] = member.labels;
  const queries = [
    ...labels.map((l) => `label=${l}`),
    ...labels.flatMap((a, i) => labels.slice(i + 1).map((b) => `label=${b}&label=${a}`)),
    q(member.name),
    ...(member.email ? [q(member.email)] : []),
    ...(member.phone ? [q(member.phone)] : []),
  ];
  for (const query of queries) {
    expect(await listed(ws, `${status}&${query}`, id), query).toEqual(member);
  }
  const other = member.status === "active" ? "archived" : "active";
  for (const query of queries) expect(await listed(ws, `status=${other}&${query}`, id), query).toBeUndefined();

  const db = await shardDb(ws.id);
  const rows = await db.batch(
    ["members_by_label", "members_by_label_pair", "members_by_term"].map((table) =>
      db
        .prepare(
          `select count(*) as n, count(*) filter (where t.status = m.status) as current
        from ${table} as t join members as m on m.id = t.member_id where t.member_id = ?`,
        )
        .bind(id),
    ),
  );
  const [labelRows, pairRows, termRows] = rows.map((r) => r.results[0] as { n: number; current: number });
  const n = labels.length;
  expect(labelRows).toEqual({ n, current: n });
  const pairs = n >= 2 && n <= PAIRED_LABELS_MAX ? (n * (n - 1)) / 2 : 0;
  expect(pairRows).toEqual({ n: pairs, current: pairs });
  expect(termRows?.current).toBe(termRows?.n);
  expect(termRows?.n).toBe(new Set(termsOf(member)).size);
  return member;
}

const ok = async (promise: Promise<{ status: number; body: Json }>) => {
  const res = await promise;
  expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
  return res.body;
};

describe("label and search lists answer the member as GET /v1/members/{id} does", () => {
  it("after a patch of name, description, role and labels", async () => {
    const ws = await newWorkspace();
    await addRole(ws, "agent", ["members:read"]);
    const m = await addMember(ws, { name: "Ada Lovelace", email: "ada@x.test", labels: ["vip", "gold"] });
    await expectSameEverywhere(ws, m.id);
    await ok(call("PATCH", `/v1/members/${m.id}`, { key: ws.key, body: { name: "Augusta King" } }));
    expect(await listed(ws, q("lovelace"), m.id)).toBeUndefined();
    await expectSameEverywhere(ws, m.id);
    await ok(call("PATCH", `/v1/members/${m.id}`, { key: ws.key, body: { description: "Countess", role: "agent" } }));
    expect(await expectSameEverywhere(ws, m.id)).toMatchObject({ description: "Countess", type: "team" });
    await ok(call("PATCH", `/v1/members/${m.id}`, { key: ws.key, body: { labels: ["gold", "new", "beta"] } }));
    expect(await listed(ws, "label=vip", m.id)).toBeUndefined();
    expect(await listed(ws, "label=gold&label=vip", m.id)).toBeUndefined();
    await expectSameEverywhere(ws, m.id);
  });

  it("after labels are added and removed, and a label is deleted", async () => {
    const ws = await newWorkspace();
    const m = await addMember(ws, { name: "Grace Hopper", phone: "+1 415 555 0100", labels: ["vip"] });
    await ok(call("POST", `/v1/members/${m.id}/labels`, { key: ws.key, body: { labels: ["navy", "gold"] } }));
    await expectSameEverywhere(ws, m.id);
    await ok(call("DELETE", `/v1/members/${m.id}/labels/vip`, { key: ws.key }));
    expect(await listed(ws, "label=vip", m.id)).toBeUndefined();
    await expectSameEverywhere(ws, m.id);
    await ok(call("DELETE", "/v1/labels/navy", { key: ws.key }));
    expect(await expectSameEverywhere(ws, m.id)).toMatchObject({ labels: ["gold"] });
  });

  it("after archive and unarchive", async () => {
    const ws = await newWorkspace();
    const m = await addMember(ws, { name: "Alan Turing", email: "alan@x.test", labels: ["a", "b", "c"] });
    await ok(call("POST", `/v1/members/${m.id}/archive`, { key: ws.key }));
    expect(await expectSameEverywhere(ws, m.id)).toMatchObject({ status: "archived" });
    await ok(call("POST", `/v1/members/${m.id}/unarchive`, { key: ws.key }));
    expect(await expectSameEverywhere(ws, m.id)).toMatchObject({ status: "active" });
  });

  it("after a confirmed credential change", async () => {
    const ws = await newWorkspace();
    const m = await addMember(ws, { name: "Eve Example", email: "eve@old.test", labels: ["vip", "gold"] });
    await ok(startChange(ws, m.id, { kind: "email", value: "eve@new.test" }));
    await ok(confirmChange(await latestToken(ws, "eve@old.test")));
    expect(await listed(ws, q("eve@old"), m.id)).toBeUndefined();
    expect(await expectSameEverywhere(ws, m.id)).toMatchObject({ email: "eve@new.test" });
  });

  it("after an import updates the member", async () => {
    const ws = await newWorkspace();
    const m = await addMember(ws, { name: "Ida Import", email: "ida@x.test", labels: ["vip"] });
    const result = await importCsv(ws, csv("email,name,labels", "ida@x.test,Ida Imported,gold"));
    expect(result).toMatchObject({ status: "completed", updated: 1 });
    expect(await expectSameEverywhere(ws, m.id)).toMatchObject({ name: "Ida Imported", labels: ["gold", "vip"] });
  });

  it("after an anonymous member is merged into a member", async () => {
    const ws = await newWorkspace();
    await configureSms(ws);
    const phone = newNumber();
    expect((await postInbound(ws.id, "sms", smsParams(phone, "hello"))).status).toBe(200);
    const [anonymous] = (await call("GET", "/v1/members?status=anonymous", { key: ws.key })).body.data;
    await expectSameEverywhere(ws, anonymous.id);
    const ada = await addMember(ws, { name: "Ada Lovelace", email: "ada@x.test", labels: ["vip"] });
    await ok(call("POST", `/v1/members/${anonymous.id}/resolve`, { key: ws.key, body: { targetId: ada.id } }));
    expect(await expectSameEverywhere(ws, anonymous.id)).toMatchObject({ status: "merged" });
    await expectSameEverywhere(ws, ada.id);
  });
});

describe("lists by two or more labels", () => {
  it("find members with more labels than are paired, as they cross that number either way", async () => {
    const ws = await newWorkspace();
    const few = ["a", "b", "c"];
    const many = ["a", "b", "c", "d", "e", "f", "g", "h"];
    const paired = await addMember(ws, { email: "paired@x.test", labels: few });
    const unpaired = await addMember(ws, { email: "unpaired@x.test", labels: many });
    const both = async (query: string) =>
      (await call("GET", `/v1/members?${query}`, { key: ws.key })).body.data.map((m: Json) => m.id).sort();
    expect(await both("label=a&label=b")).toEqual([paired.id, unpaired.id].sort());
    expect(await both("label=c&label=a&label=b")).toEqual([paired.id, unpaired.id].sort());
    expect(await both("label=g&label=h")).toEqual([unpaired.id]);
    await expectSameEverywhere(ws, unpaired.id);

    // Over the number: the pair rows go; back under it: they come back.
    await ok(call("POST", `/v1/members/${paired.id}/labels`, { key: ws.key, body: { labels: ["d", "e", "f", "g"] } }));
    expect(await both("label=a&label=g")).toEqual([paired.id, unpaired.id].sort());
    await expectSameEverywhere(ws, paired.id);
    await ok(call("PATCH", `/v1/members/${unpaired.id}`, { key: ws.key, body: { labels: ["a", "h"] } }));
    expect(await both("label=a&label=h")).toEqual([unpaired.id]);
    expect(await both("label=a&label=b")).toEqual([paired.id]);
    await expectSameEverywhere(ws, unpaired.id);
  });

  it("pages newest first through paired and unpaired members alike", async () => {
    const ws = await newWorkspace();
    const added: Json[] = [];
    for (let i = 0; i < 9; i++) {
      const extra = i % 3 === 0 ? ["c", "d", "e", "f", "g"] : [];
      added.push(await addMember(ws, { email: `m${i}@x.test`, labels: ["a", "b", ...extra] }));
    }
    const whole = (await call("GET", "/v1/members?label=a&label=b", { key: ws.key })).body.data.map((m: Json) => m.id);
    expect(whole).toEqual(added.map((m) => m.id).reverse());
    const walked = (await walkPages(ws.key, "/v1/members?label=a&label=b&limit=2")).map((m: Json) => m.id);
    expect(walked).toEqual(whole);
  });
});
