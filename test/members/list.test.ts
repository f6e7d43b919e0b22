import { describe, expect, it } from "vitest";
import { addMember, addRole, call, newWorkspace, type Workspace, walkPages } from "../helpers";

type Member = { id: string; name: string; email: string | null; createdAt: string };

const ids = (members: { id: string }[]) => members.map((m) => m.id);
const sorted = (list: string[]) => [...list].sort();

async function list(ws: Workspace, query: string) {
  const res = await call("GET", `/v1/members?${query}`, { key: ws.key });
  expect(res.status).toBe(200);
  return res.body as { data: Member[]; nextCursor: string | null };
}

/** A small workspace with members of every kind the filters tell apart. */
async function seeded() {
  const ws = await newWorkspace();
  await addRole(ws, "agent", ["members:read"]);
  const [ada, grace, alan, edsger, archived] = await Promise.all([
    addMember(ws, { name: "Ada Lovelace", email: "ada@engines.test", labels: ["vip", "gold"] }),
    addMember(ws, {
      name: "Grace Hopper",
      email: "grace@navy.test",
      phone: "+1 415 555 0100",
      role: "agent",
      labels: ["vip"],
    }),
    addMember(ws, { name: "Alan Turing", phone: "+44 20 7946 0958", labels: ["gold"] }),
    addMember(ws, { name: "Edsger Dijkstra", externalId: "crm-ed", role: "agent" }),
    addMember(ws, { name: "Ada Archived", email: "ada.old@engines.test", labels: ["vip"] }),
  ]);
  expect((await call("POST", `/v1/members/${archived.id}/archive`, { key: ws.key })).status).toBe(200);
  return { ws, ada, grace, alan, edsger, archived, ownerId: ws.ownerId };
}

describe("GET /v1/members filters", () => {
  it("lists active members newest first by default, hiding archived ones", async () => {
    const s = await seeded();
    const page = await list(s.ws, "");
    expect(sorted(ids(page.data))).toEqual(sorted([s.ada.id, s.grace.id, s.alan.id, s.edsger.id, s.ownerId]));
    expect(page.nextCursor).toBeNull();
    const times = page.data.map((m) => m.createdAt);
    expect(times).toEqual([...times].sort().reverse());
  });

  it("lists only archived members with status=archived", async () => {
    const s = await seeded();
    expect(ids((await list(s.ws, "status=archived")).data)).toEqual([s.archived.id]);
  });

  it("filters by type", async () => {
    const s = await seeded();
    expect(sorted(ids((await list(s.ws, "type=team")).data))).toEqual(sorted([s.grace.id, s.edsger.id, s.ownerId]));
    expect(sorted(ids((await list(s.ws, "type=customer")).data))).toEqual(sorted([s.ada.id, s.alan.id]));
  });

  it("filters by role, and an unknown role lists nobody", async () => {
    const s = await seeded();
    expect(sorted(ids((await list(s.ws, "role=agent")).data))).toEqual(sorted([s.grace.id, s.edsger.id]));
    expect((await list(s.ws, "role=nobody-has-this")).data).toEqual([]);
  });

  it("filters by one label, and by several labels meaning all of them", async () => {
    const s = await seeded();
    expect(sorted(ids((await list(s.ws, "label=vip")).data))).toEqual(sorted([s.ada.id, s.grace.id]));
    expect(sorted(ids((await list(s.ws, "label=gold")).data))).toEqual(sorted([s.ada.id, s.alan.id]));
    expect(ids((await list(s.ws, "label=vip&label=gold")).data)).toEqual([s.ada.id]);
    expect(ids((await list(s.ws, "label=gold&label=vip")).data)).toEqual([s.ada.id]);
    expect((await list(s.ws, "label=vip&label=gold&label=none")).data).toEqual([]);
    expect(ids((await list(s.ws, "label=vip&status=archived")).data)).toEqual([s.archived.id]);
  });

  it("combines label, type and role filters", async () => {
    const s = await seeded();
    expect(ids((await list(s.ws, "label=vip&type=team")).data)).toEqual([s.grace.id]);
    expect(ids((await list(s.ws, "label=vip&role=user")).data)).toEqual([s.ada.id]);
    expect((await list(s.ws, "label=gold&role=agent")).data).toEqual([]);
  });
});

describe("GET /v1/members?q= search", () => {
  it.each([
    ["a name prefix, in any case", "ADA", ["ada"]],
    ["a last name prefix", "hop", ["grace"]],
    ["an email prefix", "grace@na", ["grace"]],
    ["an email domain is not a prefix", "navy", []],
    ["an E.164 phone prefix", "+1415555", ["grace"]],
    ["a phone prefix typed with spaces and punctuation", "+1 (415) 555-01", ["grace"]],
    ["the national digits of a phone", "415 555 0100", ["grace"]],
    ["the national digits of a foreign phone", "2079", ["alan"]],
    ["a prefix several members share", "a", ["ada", "alan"]],
  ])("finds members by %s", async (_, q, expected) => {
    const s = await seeded();
    const byName = { ada: s.ada.id, grace: s.grace.id, alan: s.alan.id } as Record<string, string>;
    const found = await list(s.ws, `q=${encodeURIComponent(q)}`);
    expect(sorted(ids(found.data))).toEqual(sorted(expected.map((n) => byName[n] ?? n)));
  });

  it("searches archived members only with status=archived", async () => {
    const s = await seeded();
    expect(ids((await list(s.ws, "q=ada")).data)).toEqual([s.ada.id]);
    expect(ids((await list(s.ws, "q=ada&status=archived")).data)).toEqual([s.archived.id]);
  });

  it("combines search with label, type and role filters", async () => {
    const s = await seeded();
    expect(ids((await list(s.ws, "q=a&label=gold&label=vip")).data)).toEqual([s.ada.id]);
    expect(ids((await list(s.ws, "q=a&type=customer&label=gold")).data).sort()).toEqual(sorted([s.ada.id, s.alan.id]));
    expect(ids((await list(s.ws, "q=g&role=agent")).data)).toEqual([s.grace.id]);
  });

  it("lists a member matching by name, last name and email only once", async () => {
    const ws = await newWorkspace();
    const sam = await addMember(ws, { name: "Sam Samson", email: "sam@samson.test" });
    expect(ids((await list(ws, "q=sam")).data)).toEqual([sam.id]);
  });
});

describe("GET /v1/members keyset pages", () => {
  /** 23 members named "Pat ..." with emails "pat..." and alternating labels: many matching terms per member. */
  async function crowded() {
    const ws = await newWorkspace();
    await addRole(ws, "crew", []);
    const members: Member[] = await Promise.all(
      Array.from({ length: 23 }, (_, i) =>
        addMember(ws, {
          name: `Pat ${i % 3 === 0 ? "Patterson" : `Number${i}`}`,
          email: `pat${i}@example.test`,
          phone: `+1415555${String(1000 + i)}`,
          labels: i % 2 === 0 ? ["even", "all"] : ["all"],
          role: i % 4 === 0 ? "crew" : "user",
        }),
      ),
    );
    return { ws, members };
  }

  it.each([
    ["no filter", "", (_m: Member, _i: number) => true],
    ["a label filter", "label=even", (_m: Member, i: number) => i % 2 === 0],
    ["two label filters", "label=all&label=even", (_m: Member, i: number) => i % 2 === 0],
    ["a role filter", "role=crew", (_m: Member, i: number) => i % 4 === 0],
    ["a type filter", "type=customer", (_m: Member, i: number) => i % 4 !== 0],
    ["a name search", "q=pat", (_m: Member, _i: number) => true],
    ["a last-name search", "q=patt", (_m: Member, i: number) => i % 3 === 0],
    ["a phone search", "q=1415555", (_m: Member, _i: number) => true],
    ["a search with a label filter", "q=pat&label=even", (_m: Member, i: number) => i % 2 === 0],
  ])("yields every member exactly once when walking all pages with %s", async (_, query, expected) => {
    const { ws, members } = await crowded();
    const want = members.filter(expected).map((m) => m.id);
    if (query === "") want.push(ws.ownerId);
    for (const limit of [3, 7]) {
      const walked = ids(await walkPages(ws.key, `/v1/members?limit=${limit}${query && `&${query}`}`));
      expect(walked.length).toBe(new Set(walked).size);
      expect(sorted(walked)).toEqual(sorted(want));
    }
  });

  it("gives pages in the same order as one big page", async () => {
    const { ws } = await crowded();
    for (const query of ["", "&q=pat", "&label=all"]) {
      const whole = ids((await list(ws, `limit=100${query}`)).data);
      expect(ids(await walkPages(ws.key, `/v1/members?limit=1${query}`))).toEqual(whole);
    }
  });

  it("answers a full page with a cursor and the last page with nextCursor null", async () => {
    const { ws } = await crowded();
    const first = await list(ws, "limit=20");
    expect(first.data).toHaveLength(20);
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = await list(ws, `limit=20&cursor=${first.nextCursor}`);
    expect(second.data).toHaveLength(4);
    expect(second.nextCursor).toBeNull();
  });

  it("defaults to pages of 50", async () => {
    const ws = await newWorkspace();
    await Promise.all(Array.from({ length: 55 }, (_, i) => addMember(ws, { email: `m${i}@x.test` })));
    const page = await list(ws, "");
    expect(page.data).toHaveLength(50);
    expect(page.nextCursor).not.toBeNull();
  });

  it.each([
    ["garbage", "not a cursor!"],
    ["base64 of something else", btoa("hello")],
    ["a JSON object", btoa(JSON.stringify({ id: "x" }))],
  ])("answers 400 invalid_cursor for a cursor that is %s", async (_, cursor) => {
    const ws = await newWorkspace();
    const res = await call("GET", `/v1/members?cursor=${encodeURIComponent(cursor)}`, { key: ws.key });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: "invalid_cursor", issues: [{ path: "cursor" }] });
  });

  it("answers 400 invalid_cursor for a search cursor used on the plain list, and the other way round", async () => {
    const { ws } = await crowded();
    const search = await list(ws, "q=pat&limit=2");
    const plain = await list(ws, "limit=2");
    const a = await call("GET", `/v1/members?cursor=${search.nextCursor}`, { key: ws.key });
    expect(a.status).toBe(400);
    expect(a.body.error.code).toBe("invalid_cursor");
    const b = await call("GET", `/v1/members?q=pat&cursor=${plain.nextCursor}`, { key: ws.key });
    expect(b.status).toBe(400);
    expect(b.body.error.code).toBe("invalid_cursor");
  });

  it("reads blank parameters as left out, as a form with empty fields sends them", async () => {
    const ws = await newWorkspace();
    await addMember(ws, { email: "ann@x.test", labels: ["vip"] });
    const plain = await call("GET", "/v1/members", { key: ws.key });
    const blank = await call("GET", "/v1/members?status=&type=&role=&label=&q=%20&limit=&cursor=", { key: ws.key });
    expect(blank.status).toBe(200);
    expect(blank.body).toEqual(plain.body);
    const oneBlankLabel = await call("GET", "/v1/members?label=vip&label=", { key: ws.key });
    expect(oneBlankLabel.body.data.map((m: { email: string }) => m.email)).toEqual(["ann@x.test"]);
  });

  it.each(["limit=0", "limit=101", "limit=abc", "limit=-1", "status=deleted", "type=robot", "label=Not%20A%20Slug"])(
    "answers 422 for the query %s",
    async (query) => {
      const ws = await newWorkspace();
      const res = await call("GET", `/v1/members?${query}`, { key: ws.key });
      expect(res.status).toBe(422);
      expect(res.body.error.code).toBe("validation_failed");
    },
  );
});
