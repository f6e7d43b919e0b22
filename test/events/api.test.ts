import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { addMember, call, keyForRole, newWorkspace, type Workspace } from "../helpers";

type Event = {
  seq: number;
  type: string;
  data: Record<string, { id?: string; email?: string }>;
  actor: { type: string; id?: string };
};

/** Follows nextCursor (as `after`) from `query` and answers every event and each page's size. */
async function walk(key: string, query: string) {
  const all: Event[] = [];
  const sizes: number[] = [];
  let after: string | null = "0";
  while (after !== null) {
    const res = await call("GET", `/v1/events?${query}&after=${after}`, { key });
    expect(res.status).toBe(200);
    all.push(...res.body.data);
    sizes.push(res.body.data.length);
    after = res.body.nextCursor;
  }
  return { all, sizes };
}

/** A desk role that reaches only members at acme.test, and a key of that role. */
async function deskWorkspace() {
  const ws = await newWorkspace();
  const role = await call("POST", "/v1/roles", {
    key: ws.key,
    body: {
      key: "desk",
      name: "Desk",
      type: "team",
      scopes: ["members:read"],
      condition: `member.email.endsWith("@acme.test")`,
    },
  });
  expect(role.status).toBe(201);
  return { ws, agent: await keyForRole(ws, "desk") };
}

async function fewChanges(ws: Workspace) {
  const ann = await addMember(ws, { email: "ann@example.test" });
  const bob = await addMember(ws, { email: "bob@example.test" });
  expect((await call("POST", "/v1/labels", { key: ws.key, body: { name: "Gold" } })).status).toBe(201);
  expect((await call("PATCH", `/v1/members/${ann.id}`, { key: ws.key, body: { name: "Ann Again" } })).status).toBe(200);
  return { ann, bob };
}

describe("GET /v1/events", () => {
  it("pages the whole log in order by seq, each page at most limit, nextCursor null at the end", async () => {
    const ws = await newWorkspace();
    await fewChanges(ws);
    const head = (await call("GET", "/v1/events?limit=100", { key: ws.key })).body.data as Event[];
    const { all, sizes } = await walk(ws.key, "limit=2");
    expect(all.map((e) => e.seq)).toEqual(head.map((e) => e.seq));
    expect(all.map((e) => e.seq)).toEqual([...all.map((e) => e.seq)].sort((a, b) => a - b));
    expect(Math.max(...sizes)).toBeLessThanOrEqual(2);
    expect(all.every((e) => e.actor && typeof e.actor.type === "string")).toBe(true);
  });

  it("filters by exact type, by family, by member and by actor type or type:id", async () => {
    const ws = await newWorkspace();
    const { ann } = await fewChanges(ws);
    const get = async (q: string) => (await walk(ws.key, `${q}&limit=3`)).all;
    expect((await get("type=member.updated")).map((e) => e.type)).toEqual(["member.updated"]);
    const family = await get("type=member.*");
    expect(family.length).toBeGreaterThanOrEqual(4);
    expect(family.every((e) => e.type.startsWith("member."))).toBe(true);
    const about = await get(`member=${ann.id}`);
    expect(about.map((e) => e.type)).toEqual(["member.created", "member.updated"]);
    const byPlatform = await get("actor=platform");
    expect(byPlatform.length).toBeGreaterThan(0);
    expect(byPlatform.every((e) => e.actor.type === "platform")).toBe(true);
    const byOwner = await get(`actor=member:${ws.ownerId}`);
    expect(byOwner.map((e) => e.type)).toEqual(["member.created", "member.created", "label.created", "member.updated"]);
    expect(await get("actor=member:mem_nobody")).toEqual([]);
  });

  it("answers 422 in the error shape for an unknown type, family or actor, and a malformed seq or limit", async () => {
    const ws = await newWorkspace();
    for (const q of [
      "type=member.nope",
      "type=nope.*",
      "actor=robot",
      "actor=member:",
      "after=-1",
      "limit=0",
      "limit=101",
      "colour=red",
    ]) {
      const res = await call("GET", `/v1/events?${q}`, { key: ws.key });
      expect(res.status, q).toBe(422);
      expect(res.body.error.code, q).toBe("validation_failed");
    }
    for (const q of ["from=yesterday", "to=2026-13-45T00:00:00Z"]) {
      const res = await call("GET", `/v1/events/export?${q}`, { key: ws.key });
      expect(res.status, q).toBe(422);
    }
  });

  it("refuses a customer and a caller without members:read with 403, as the live stream does", async () => {
    const ws = await newWorkspace();
    const customer = await keyForRole(ws, "user");
    expect((await call("GET", "/v1/events", { key: customer.key })).status).toBe(403);
    expect((await call("GET", "/v1/events/export", { key: customer.key })).status).toBe(403);
    expect((await call("GET", "/v1/events")).status).toBe(401);
  });

  it("never shows a caller whose role condition hides a member that member's events, in pages or in the export", async () => {
    const { ws, agent } = await deskWorkspace();
    const hidden = await addMember(ws, { email: "hidden@example.test" });
    const seen = await addMember(ws, { email: "seen@acme.test" });
    await call("PATCH", `/v1/members/${hidden.id}`, { key: ws.key, body: { name: "Still hidden" } });
    const { all } = await walk(agent.key, "limit=1");
    const ids = all.map((e) => e.data.member?.id);
    expect(ids).toContain(seen.id);
    expect(ids).not.toContain(hidden.id);
    expect(JSON.stringify(all)).not.toContain("hidden@example.test");
    expect((await walk(agent.key, `member=${hidden.id}`)).all).toEqual([]);
    const exported = await fetchExport(agent.key, "");
    expect(exported.text).toContain(seen.id);
    expect(exported.text).not.toContain(hidden.id);
    // The owner sees both.
    expect((await fetchExport(ws.key, "")).text).toContain(hidden.id);
  });
});

describe("GET /v1/events/export", () => {
  it("streams a range of seqs as NDJSON, one event a line, from inclusive and to exclusive", async () => {
    const ws = await newWorkspace();
    await fewChanges(ws);
    const res = await fetchExport(ws.key, "from=2&to=5");
    expect(res.headers.get("Content-Type")).toMatch(/^application\/x-ndjson/);
    const lines = res.text.trimEnd().split("\n");
    const events = lines.map((line) => JSON.parse(line) as Event);
    expect(events.map((e) => e.seq)).toEqual([2, 3, 4]);
    expect(events.every((e) => e.actor.type.length > 0)).toBe(true);
  });

  it("streams a range of times, and every event with no range", async () => {
    const ws = await newWorkspace();
    const before = new Date().toISOString();
    await fewChanges(ws);
    const all = (await fetchExport(ws.key, "")).text
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as Event & { at: string });
    const since = (await fetchExport(ws.key, `from=${encodeURIComponent(before)}`)).text
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as Event);
    expect(since.map((e) => e.seq)).toEqual(all.filter((e) => e.at >= before).map((e) => e.seq));
    expect(since.length).toBeGreaterThanOrEqual(4);
    const none = await fetchExport(ws.key, `to=${encodeURIComponent("2000-01-01T00:00:00Z")}`);
    expect(none.text).toBe("");
  });
});

const worker = (exports as unknown as { default: Fetcher }).default;

async function fetchExport(key: string, query: string) {
  const response = await worker.fetch(`http://localhost/v1/events/export?${query}`, {
    headers: { Authorization: `Bearer ${key}` },
  });
  expect(response.status).toBe(200);
  return { headers: response.headers, text: await response.text() };
}
