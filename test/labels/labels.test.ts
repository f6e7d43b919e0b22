import { describe, expect, it } from "vitest";
import { eventsOf, snapshot } from "../db";
import { addMember, addRole, call, keyForRole, newWorkspace, walkPages } from "../helpers";

describe("labels", () => {
  it("creates a label from a name, deriving its slug, and lists it", async () => {
    const ws = await newWorkspace();
    const res = await call("POST", "/v1/labels", {
      key: ws.key,
      body: { name: "New Customer", color: "#3b82f6", description: "Joined this month" },
    });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      slug: "new-customer",
      name: "New Customer",
      color: "#3b82f6",
      description: "Joined this month",
      createdAt: expect.any(String),
    });
    const list = await call("GET", "/v1/labels", { key: ws.key });
    expect(list.status).toBe(200);
    expect(list.body).toEqual({ data: [{ ...res.body, holders: 0 }], nextCursor: null });
    expect((await eventsOf(ws.id)).at(-1)).toMatchObject({ type: "label.created" });
  });

  it("lists each label with how many members hold it, whatever their status, as holders change", async () => {
    const ws = await newWorkspace();
    await call("POST", "/v1/labels", { key: ws.key, body: { name: "Empty" } });
    const a = await addMember(ws, { email: "a@example.test", labels: ["gold", "silver"] });
    await addMember(ws, { email: "b@example.test", labels: ["gold"] });
    const holders = async (query = "") =>
      Object.fromEntries(
        (await call("GET", `/v1/labels${query}`, { key: ws.key })).body.data.map(
          (l: { slug: string; holders: number }) => [l.slug, l.holders],
        ),
      );
    expect(await holders()).toEqual({ empty: 0, gold: 2, silver: 1 });

    expect((await call("POST", `/v1/members/${a.id}/archive`, { key: ws.key })).status).toBe(200);
    expect(await holders()).toEqual({ empty: 0, gold: 2, silver: 1 });
    expect((await call("DELETE", `/v1/members/${a.id}/labels/gold`, { key: ws.key })).status).toBe(200);
    expect(await holders()).toEqual({ empty: 0, gold: 1, silver: 1 });
    // Counted per page too.
    expect(await holders("?limit=2")).toEqual({ empty: 0, gold: 1 });
  });

  it("counts for a caller under a role condition only the holders the condition reaches", async () => {
    const ws = await newWorkspace();
    await addRole(ws, "desk", ["labels:read"], "team", 'member.labels.exists(l, l == "north")');
    const { key } = await keyForRole(ws, "desk");
    await addMember(ws, { email: "n@example.test", labels: ["gold", "north"] });
    await addMember(ws, { email: "s1@example.test", labels: ["gold"] });
    await addMember(ws, { email: "s2@example.test", labels: ["gold"] });
    const holders = async (caller: string) =>
      Object.fromEntries(
        (await call("GET", "/v1/labels", { key: caller })).body.data.map((l: { slug: string; holders: number }) => [
          l.slug,
          l.holders,
        ]),
      );
    expect(await holders(ws.key)).toEqual({ gold: 3, north: 1 });
    expect(await holders(key)).toEqual({ gold: 1, north: 1 });
  });

  it("creates a label with an explicit slug and a default color", async () => {
    const ws = await newWorkspace();
    const res = await call("POST", "/v1/labels", { key: ws.key, body: { name: "V.I.P.", slug: "vip" } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ slug: "vip", name: "V.I.P.", color: expect.stringMatching(/^#[0-9a-f]{6}$/i) });
  });

  it("lists labels sorted by name", async () => {
    const ws = await newWorkspace();
    for (const name of ["Zeta", "Alpha", "Mid"]) await call("POST", "/v1/labels", { key: ws.key, body: { name } });
    const list = await call("GET", "/v1/labels", { key: ws.key });
    expect(list.body.data.map((l: { name: string }) => l.name)).toEqual(["Alpha", "Mid", "Zeta"]);
  });

  it("lists labels in pages of `limit` (50 unless given, at most 100), each label once, by name", async () => {
    const ws = await newWorkspace();
    const names = Array.from({ length: 60 }, (_, i) => `Label ${String(i).padStart(2, "0")}`);
    const created = await Promise.all(names.map((name) => call("POST", "/v1/labels", { key: ws.key, body: { name } })));
    expect(created.every((res) => res.status === 201)).toBe(true);

    const first = await call("GET", "/v1/labels", { key: ws.key });
    expect(first.body.data).toHaveLength(50);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const walked = await walkPages(ws.key, "/v1/labels?limit=7");
    expect(walked.map((l: { name: string }) => l.name)).toEqual(names);
    for (const limit of ["0", "101", "x"]) {
      expect((await call("GET", `/v1/labels?limit=${limit}`, { key: ws.key })).status).toBe(422);
    }
    expect((await call("GET", "/v1/labels?cursor=forged", { key: ws.key })).status).toBe(400);
  });

  it("answers 409 duplicate for a taken slug or name and writes nothing", async () => {
    const ws = await newWorkspace();
    await call("POST", "/v1/labels", { key: ws.key, body: { name: "Gold", slug: "gold" } });
    const before = await snapshot(ws.id);
    for (const body of [{ name: "Other", slug: "gold" }, { name: "Gold", slug: "gold-2" }, { name: "Gold" }]) {
      const res = await call("POST", "/v1/labels", { key: ws.key, body });
      expect(res.status).toBe(409);
      expect(res.body.error.code).toBe("duplicate");
    }
    expect(await snapshot(ws.id)).toEqual(before);
  });

  it.each([
    ["a missing name", { slug: "x" }, "name"],
    ["a bad color", { name: "X", color: "red" }, "color"],
    ["a bad slug", { name: "X", slug: "Not Slug" }, "slug"],
    ["a name with nothing to make a slug of", { name: "!!!" }, "slug"],
    ["a too long name", { name: "x".repeat(65) }, "name"],
    ["an unknown field", { name: "X", emoji: "⭐" }, "emoji"],
  ])("answers 422 naming the field for %s", async (_, body, path) => {
    const ws = await newWorkspace();
    const before = await snapshot(ws.id);
    const res = await call("POST", "/v1/labels", { key: ws.key, body });
    expect(res.status).toBe(422);
    expect(res.body.error.issues.map((i: { path: string }) => i.path)).toContain(path);
    expect(await snapshot(ws.id)).toEqual(before);
  });

  it("answers two racing deletes of one label with one 204 and one 404, and logs one label.deleted", async () => {
    const ws = await newWorkspace();
    await addMember(ws, { email: "racer@x.test", labels: ["racing"] });
    const statuses = await Promise.all(
      [1, 2].map(async () => (await call("DELETE", "/v1/labels/racing", { key: ws.key })).status),
    );
    expect(statuses.sort()).toEqual([204, 404]);
    expect((await eventsOf(ws.id)).filter((e) => e.type === "label.deleted")).toHaveLength(1);
  });

  it("deletes a label and removes it from every member, archived ones included", async () => {
    const ws = await newWorkspace();
    const a = await addMember(ws, { email: "a@x.test", labels: ["doomed", "kept"] });
    const b = await addMember(ws, { email: "b@x.test", labels: ["doomed"] });
    const c = await addMember(ws, { email: "c@x.test", labels: ["doomed"] });
    await call("POST", `/v1/members/${c.id}/archive`, { key: ws.key });
    const res = await call("DELETE", "/v1/labels/doomed", { key: ws.key });
    expect(res.status).toBe(204);
    const slugs = (await call("GET", "/v1/labels", { key: ws.key })).body.data.map((l: { slug: string }) => l.slug);
    expect(slugs).toEqual(["kept"]);
    for (const [member, labels] of [
      [a, ["kept"]],
      [b, []],
      [c, []],
    ] as const) {
      expect((await call("GET", `/v1/members/${member.id}`, { key: ws.key })).body.labels).toEqual(labels);
    }
    for (const status of ["active", "archived"]) {
      const list = await call("GET", `/v1/members?label=doomed&status=${status}`, { key: ws.key });
      expect(list.body.data).toEqual([]);
    }
    // label.deleted, then one member.unlabeled per holder with the member as left, seqs consecutive.
    const log = await eventsOf(ws.id);
    const at = log.findIndex((e) => e.type === "label.deleted");
    expect(log[at]).toMatchObject({ data: { slug: "doomed" } });
    const unlabeled = log.slice(at + 1);
    expect(unlabeled.map((e) => e.type)).toEqual(["member.unlabeled", "member.unlabeled", "member.unlabeled"]);
    expect(unlabeled.map((e) => e.seq)).toEqual([1, 2, 3].map((i) => (log[at]?.seq ?? 0) + i));
    for (const event of unlabeled) {
      const { member } = event.data as { member: { id: string } };
      const now = (await call("GET", `/v1/members/${member.id}`, { key: ws.key })).body;
      expect(event.data).toEqual({ member: now, labels: ["doomed"] });
    }
    expect(unlabeled.map((e) => (e.data as { member: { id: string } }).member.id).sort()).toEqual(
      [a.id, b.id, c.id].sort(),
    );
  });

  it("answers 404 when deleting an unknown label", async () => {
    const ws = await newWorkspace();
    const res = await call("DELETE", "/v1/labels/nope", { key: ws.key });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe("not_found");
  });
});
