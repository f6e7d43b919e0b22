import { describe, expect, it } from "vitest";
import { eventsOf, snapshot } from "../db";
import { addMember, call, keyForRole, newWorkspace } from "../helpers";

const N = 50;

/** Asserts the log is numbered 1, 2, 3, ... with no gap and no duplicate. */
function expectGapless(seqs: number[]) {
  expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
}

describe("the event log", () => {
  it("starts with the owner's member.created as seq 1", async () => {
    const ws = await newWorkspace();
    const events = await eventsOf(ws.id);
    expect(events[0]).toMatchObject({ seq: 1, type: "member.created", data: { member: { id: ws.ownerId } } });
    expectGapless(events.map((e) => e.seq));
  });

  it(`numbers ${N} concurrent member creates without gaps or duplicates, one member.created each`, async () => {
    const ws = await newWorkspace();
    const responses = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        call("POST", "/v1/members", { key: ws.key, body: { name: `Racer ${i}`, email: `racer${i}@x.test` } }),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(N).fill(201));
    const events = await eventsOf(ws.id);
    expectGapless(events.map((e) => e.seq));
    const created = events.filter((e) => e.type === "member.created");
    expect(created).toHaveLength(N + 1);
    expect(created[0]?.seq).toBe(1);
    const createdIds = created.map((e) => (e.data as { member: { id: string } }).member.id);
    expect(new Set(createdIds).size).toBe(N + 1);
    expect(createdIds.sort()).toEqual([ws.ownerId, ...responses.map((r) => r.body.id)].sort());
    // Besides the members: the owner's API key, made with the workspace.
    expect(events.filter((e) => e.type !== "member.created").map((e) => e.type)).toEqual(["api_key.created"]);
  });

  it("numbers concurrent writes of every kind without gaps, exactly one event per change", async () => {
    const ws = await newWorkspace();
    const members = await Promise.all(Array.from({ length: 10 }, (_, i) => addMember(ws, { email: `m${i}@x.test` })));
    const before = (await eventsOf(ws.id)).length;
    const writes = [
      ...members.map((m, i) =>
        call("POST", `/v1/members/${m.id}/labels`, { key: ws.key, body: { labels: [`l${i}`] } }),
      ),
      ...members.map((m) => call("PATCH", `/v1/members/${m.id}`, { key: ws.key, body: { name: "Renamed" } })),
      ...members.slice(0, 5).map((m) => call("POST", `/v1/members/${m.id}/archive`, { key: ws.key })),
      ...Array.from({ length: 5 }, (_, i) => call("POST", "/v1/labels", { key: ws.key, body: { name: `Label ${i}` } })),
      ...Array.from({ length: 5 }, (_, i) =>
        call("POST", "/v1/roles", { key: ws.key, body: { key: `r${i}`, name: `R${i}`, type: "team", scopes: [] } }),
      ),
    ];
    const responses = await Promise.all(writes);
    expect(responses.every((r) => r.status >= 200 && r.status < 300)).toBe(true);
    const events = await eventsOf(ws.id);
    expectGapless(events.map((e) => e.seq));
    // Each label l<i> is new: its creation is a change of its own (label.created).
    expect(events.length - before).toBe(writes.length + members.length);
  });

  it("gives exactly one member.archived and one 409 when the same member is archived twice at once", async () => {
    const ws = await newWorkspace();
    const member = await addMember(ws, { email: "twice@x.test" });
    const responses = await Promise.all([
      call("POST", `/v1/members/${member.id}/archive`, { key: ws.key }),
      call("POST", `/v1/members/${member.id}/archive`, { key: ws.key }),
    ]);
    expect(responses.map((r) => r.status).sort()).toEqual([200, 409]);
    const events = await eventsOf(ws.id);
    expect(events.filter((e) => e.type === "member.archived")).toHaveLength(1);
    expectGapless(events.map((e) => e.seq));
  });

  it("lets one of many concurrent creates with the same email win, answering the rest 409 with its id and no event", async () => {
    const ws = await newWorkspace();
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        call("POST", "/v1/members", { key: ws.key, body: { name: `Twin ${i}`, email: "same@x.test" } }),
      ),
    );
    const winners = responses.filter((r) => r.status === 201);
    expect(winners).toHaveLength(1);
    for (const loser of responses.filter((r) => r.status !== 201)) {
      expect(loser.status).toBe(409);
      expect(loser.body.error).toMatchObject({ code: "duplicate", existingId: winners[0]?.body.id });
    }
    const events = await eventsOf(ws.id);
    expect(events.filter((e) => e.type === "member.created")).toHaveLength(2);
    expectGapless(events.map((e) => e.seq));
  });

  it("keeps every label of concurrent label adds to one member, with one member.labeled each", async () => {
    const ws = await newWorkspace();
    const member = await addMember(ws, { email: "tags@x.test" });
    const slugs = Array.from({ length: 8 }, (_, i) => `tag-${i}`);
    await Promise.all(
      slugs.map((slug) => call("POST", `/v1/members/${member.id}/labels`, { key: ws.key, body: { labels: [slug] } })),
    );
    const got = await call("GET", `/v1/members/${member.id}`, { key: ws.key });
    expect(got.body.labels).toEqual(slugs);
    const events = await eventsOf(ws.id);
    expect(events.filter((e) => e.type === "member.labeled")).toHaveLength(slugs.length);
    expectGapless(events.map((e) => e.seq));
  });

  it("records in each event the member as that change committed it", async () => {
    const ws = await newWorkspace();
    const member = await addMember(ws, { email: "state@x.test" });
    const patched = await call("PATCH", `/v1/members/${member.id}`, { key: ws.key, body: { name: "Second" } });
    const archived = await call("POST", `/v1/members/${member.id}/archive`, { key: ws.key });
    const events = await eventsOf(ws.id);
    expect(events.slice(-2)).toEqual([
      expect.objectContaining({ type: "member.updated", data: { member: patched.body } }),
      expect.objectContaining({ type: "member.archived", data: { member: archived.body } }),
    ]);
  });

  describe("a failed write appends no event and changes nothing", () => {
    const failures: [
      name: string,
      status: number,
      request: (ws: Awaited<ReturnType<typeof setup>>) => Promise<number>,
    ][] = [
      [
        "a duplicate email",
        409,
        async (s) =>
          (await call("POST", "/v1/members", { key: s.ws.key, body: { name: "Dup", email: "taken@x.test" } })).status,
      ],
      [
        "an invalid member",
        422,
        async (s) => (await call("POST", "/v1/members", { key: s.ws.key, body: { name: "", email: "bad" } })).status,
      ],
      [
        "an unknown member",
        404,
        async (s) => (await call("PATCH", "/v1/members/mem_NOPE", { key: s.ws.key, body: { name: "X" } })).status,
      ],
      [
        "a forbidden write",
        403,
        async (s) =>
          (await call("POST", "/v1/members", { key: s.reader, body: { name: "X", email: "x@x.test" } })).status,
      ],
      [
        "a missing credential",
        401,
        async () => (await call("POST", "/v1/members", { body: { name: "X", email: "x@x.test" } })).status,
      ],
      [
        "malformed JSON",
        400,
        async (s) =>
          (
            await call("POST", "/v1/members", {
              key: s.ws.key,
              rawBody: '{"name": "X", "email":',
              headers: { "Content-Type": "application/json" },
            })
          ).status,
      ],
      [
        "a wrong content type",
        415,
        async (s) =>
          (
            await call("POST", "/v1/members", {
              key: s.ws.key,
              rawBody: JSON.stringify({ name: "X", email: "x@x.test" }),
              headers: { "Content-Type": "text/plain" },
            })
          ).status,
      ],
      [
        "unarchiving an active member",
        409,
        async (s) => (await call("POST", `/v1/members/${s.member.id}/unarchive`, { key: s.ws.key })).status,
      ],
      ["deleting a role in use", 409, async (s) => (await call("DELETE", "/v1/roles/user", { key: s.ws.key })).status],
      [
        "a duplicate label",
        409,
        async (s) => (await call("POST", "/v1/labels", { key: s.ws.key, body: { name: "Taken" } })).status,
      ],
    ];

    async function setup() {
      const ws = await newWorkspace();
      const member = await addMember(ws, { email: "taken@x.test" });
      await call("POST", "/v1/labels", { key: ws.key, body: { name: "Taken" } });
      const { key: reader } = await keyForRole(ws, "user");
      return { ws, member, reader };
    }

    it.each(failures)("for %s (%s)", async (_, status, request) => {
      const s = await setup();
      const before = await snapshot(s.ws.id);
      expect(await request(s)).toBe(status);
      expect(await snapshot(s.ws.id)).toEqual(before);
    });
  });
});
