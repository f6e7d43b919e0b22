import { describe, expect, it } from "vitest";
import { eventsOf, snapshot } from "../db";
import { addMember, call, newWorkspace } from "../helpers";

const labelSlugs = async (key: string) =>
  (await call("GET", "/v1/labels", { key })).body.data.map((l: { slug: string }) => l.slug);

describe("POST /v1/members/{id}/labels and DELETE /v1/members/{id}/labels/{slug}", () => {
  it("adds labels, creating unknown ones so they show in GET /v1/labels", async () => {
    const ws = await newWorkspace();
    const member = await addMember(ws, { email: "l@x.test", labels: ["old"] });
    const res = await call("POST", `/v1/members/${member.id}/labels`, {
      key: ws.key,
      body: { labels: ["brand-new", "old"] },
    });
    expect(res.status).toBe(200);
    expect(res.body.labels).toEqual(["brand-new", "old"]);
    expect(await labelSlugs(ws.key)).toEqual(expect.arrayContaining(["brand-new", "old"]));
    const filtered = await call("GET", "/v1/members?label=brand-new", { key: ws.key });
    expect(filtered.body.data.map((m: { id: string }) => m.id)).toEqual([member.id]);
    const [labeled, created] = (await eventsOf(ws.id)).slice(-2);
    expect(labeled).toMatchObject({ type: "member.labeled", data: { member: res.body, labels: ["brand-new", "old"] } });
    expect(created).toMatchObject({ type: "label.created", data: { label: { slug: "brand-new", name: "brand-new" } } });
  });

  it("creates the label even when another label is already named like the new slug", async () => {
    const ws = await newWorkspace();
    const named = await call("POST", "/v1/labels", { key: ws.key, body: { name: "vip", slug: "very-important" } });
    expect(named.status).toBe(201);
    const member = await addMember(ws, { email: "n@x.test" });
    const res = await call("POST", `/v1/members/${member.id}/labels`, { key: ws.key, body: { labels: ["vip"] } });
    expect(res.status).toBe(200);
    expect(await labelSlugs(ws.key)).toEqual(expect.arrayContaining(["vip", "very-important"]));
    const deleted = await call("DELETE", "/v1/labels/vip", { key: ws.key });
    expect(deleted.status).toBe(204);
    expect((await call("GET", `/v1/members/${member.id}`, { key: ws.key })).body.labels).toEqual([]);
  });

  it("adding labels a member already has changes nothing and records no event", async () => {
    const ws = await newWorkspace();
    const member = await addMember(ws, { email: "same@x.test", labels: ["a", "b"] });
    const before = await snapshot(ws.id);
    const res = await call("POST", `/v1/members/${member.id}/labels`, { key: ws.key, body: { labels: ["b"] } });
    expect(res.status).toBe(200);
    expect(res.body.labels).toEqual(["a", "b"]);
    expect(await snapshot(ws.id)).toEqual(before);
  });

  it("removes a label from a member and records member.unlabeled; the label itself stays", async () => {
    const ws = await newWorkspace();
    const member = await addMember(ws, { email: "r@x.test", labels: ["keep", "drop"] });
    const res = await call("DELETE", `/v1/members/${member.id}/labels/drop`, { key: ws.key });
    expect(res.status).toBe(200);
    expect(res.body.labels).toEqual(["keep"]);
    expect((await call("GET", "/v1/members?label=drop", { key: ws.key })).body.data).toEqual([]);
    expect(await labelSlugs(ws.key)).toContain("drop");
    expect((await eventsOf(ws.id)).at(-1)).toMatchObject({ type: "member.unlabeled", data: { labels: ["drop"] } });
  });

  it("removing a label the member does not have changes nothing", async () => {
    const ws = await newWorkspace();
    const member = await addMember(ws, { email: "x@x.test", labels: ["keep"] });
    const before = await snapshot(ws.id);
    const res = await call("DELETE", `/v1/members/${member.id}/labels/absent`, { key: ws.key });
    expect(res.status).toBe(200);
    expect(res.body.labels).toEqual(["keep"]);
    expect(await snapshot(ws.id)).toEqual(before);
  });

  it.each([
    ["no labels", { labels: [] }],
    ["a label that is not a slug", { labels: ["Not Slug"] }],
    ["a missing labels field", {}],
    ["a string instead of a list", { labels: "vip" }],
  ])("answers 422 for %s and changes nothing", async (_, body) => {
    const ws = await newWorkspace();
    const member = await addMember(ws, { email: "v@x.test" });
    const before = await snapshot(ws.id);
    const res = await call("POST", `/v1/members/${member.id}/labels`, { key: ws.key, body });
    expect(res.status).toBe(422);
    expect(await snapshot(ws.id)).toEqual(before);
  });

  it("answers 404 for an unknown member", async () => {
    const ws = await newWorkspace();
    const add = await call("POST", "/v1/members/mem_NOPE/labels", { key: ws.key, body: { labels: ["x"] } });
    expect(add.status).toBe(404);
    const remove = await call("DELETE", "/v1/members/mem_NOPE/labels/x", { key: ws.key });
    expect(remove.status).toBe(404);
  });
});

describe("labels given and taken by an edit (PATCH /v1/members/{id} with labels)", () => {
  it("records member.labeled with the labels it gave and member.unlabeled with those it took, after member.updated", async () => {
    const ws = await newWorkspace();
    const member = await addMember(ws, { email: "e@x.test", labels: ["keep", "drop"] });
    const res = await call("PATCH", `/v1/members/${member.id}`, {
      key: ws.key,
      body: { name: "Edited", labels: ["keep", "new-one", "vip"] },
    });
    expect(res.status).toBe(200);
    const types = (await eventsOf(ws.id)).map((e) => e.type);
    const tail = (await eventsOf(ws.id)).filter((e) => e.type.startsWith("member.")).slice(-3);
    expect(tail).toMatchObject([
      { type: "member.updated", data: { member: res.body } },
      { type: "member.labeled", data: { member: res.body, labels: ["new-one", "vip"] } },
      { type: "member.unlabeled", data: { member: res.body, labels: ["drop"] } },
    ]);
    expect(types.filter((t) => t === "label.created")).toHaveLength(4); // keep and drop at creation, then new-one and vip
  });

  it("records no label event when the edit leaves the labels as they were", async () => {
    const ws = await newWorkspace();
    const member = await addMember(ws, { email: "s@x.test", labels: ["a", "b"] });
    const res = await call("PATCH", `/v1/members/${member.id}`, { key: ws.key, body: { labels: ["b", "a", "b"] } });
    expect(res.status).toBe(200);
    const last = (await eventsOf(ws.id)).at(-1);
    expect(last).toMatchObject({ type: "member.updated" });
  });

  it("names exactly what each of racing label changes gave and took, and loses none of them", async () => {
    const ws = await newWorkspace();
    const member = await addMember(ws, { email: "race@x.test", labels: ["base"] });
    const [edit, ...adds] = await Promise.all([
      call("PATCH", `/v1/members/${member.id}`, { key: ws.key, body: { labels: ["base", "from-edit"] } }),
      ...["one", "two", "three"].map((label) =>
        call("POST", `/v1/members/${member.id}/labels`, { key: ws.key, body: { labels: [label] } }),
      ),
    ]);
    expect(adds.map((r) => r.status)).toEqual([200, 200, 200]);
    // The edit is tried again on the labels as they are then; three races lost in a row answer 409.
    expect([200, 409]).toContain(edit?.status);
    // Replaying the label events over the labels at creation gives the labels the member has.
    const labels = new Set(["base"]);
    for (const e of await eventsOf(ws.id)) {
      const data = e.data as { member?: { id: string }; labels?: string[] };
      if (data.member?.id !== member.id) continue;
      if (e.type === "member.labeled") for (const l of data.labels ?? []) labels.add(l);
      if (e.type === "member.unlabeled") for (const l of data.labels ?? []) labels.delete(l);
    }
    const now = (await call("GET", `/v1/members/${member.id}`, { key: ws.key })).body.labels;
    expect([...labels].sort()).toEqual(now);
    // An edit that did not happen created no label either.
    const created = (await eventsOf(ws.id)).filter((e) => e.type === "label.created");
    const made = created.map((e) => (e.data as { label: { slug: string } }).label.slug);
    expect(made.includes("from-edit")).toBe(edit?.status === 200);
    if (edit?.status === 200) expect(now).toContain("from-edit");
  });
});
