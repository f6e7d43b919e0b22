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
