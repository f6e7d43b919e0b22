import { describe, expect, it } from "vitest";
import { snapshot } from "../db";
import { addMember, addRole, call, newWorkspace } from "../helpers";

/** Workspace B with one of everything that has an id; A is a stranger to it. */
async function twoWorkspaces() {
  const [a, b] = await Promise.all([newWorkspace(), newWorkspace()]);
  await addRole(b, "b-role", ["members:read"]);
  const member = await addMember(b, { name: "Bea Bravo", email: "bea@b.test", labels: ["b-only"], role: "b-role" });
  const archived = await addMember(b, { name: "Bob Bravo", email: "bob@b.test", labels: ["b-only"] });
  await call("POST", `/v1/members/${archived.id}/archive`, { key: b.key });
  const key = await call("POST", "/v1/api-keys", { key: b.key, body: { name: "B's key" } });
  expect(key.status).toBe(201);
  return { a, b, member, archived, keyId: key.body.id as string, bKey: key.body.key as string };
}

type Setup = Awaited<ReturnType<typeof twoWorkspaces>>;

const ROUTES: [name: string, request: (s: Setup) => [method: string, path: string, body?: unknown]][] = [
  ["GET /v1/members/{id}", (s) => ["GET", `/v1/members/${s.member.id}`]],
  ["PATCH /v1/members/{id}", (s) => ["PATCH", `/v1/members/${s.member.id}`, { name: "Hijacked" }]],
  ["PATCH /v1/members/{id} of the owner", (s) => ["PATCH", `/v1/members/${s.b.ownerId}`, { role: "user" }]],
  ["POST /v1/members/{id}/archive", (s) => ["POST", `/v1/members/${s.member.id}/archive`]],
  ["POST /v1/members/{id}/archive of the owner", (s) => ["POST", `/v1/members/${s.b.ownerId}/archive`]],
  ["POST /v1/members/{id}/unarchive", (s) => ["POST", `/v1/members/${s.archived.id}/unarchive`]],
  ["POST /v1/members/{id}/labels", (s) => ["POST", `/v1/members/${s.member.id}/labels`, { labels: ["a-label"] }]],
  ["DELETE /v1/members/{id}/labels/{slug}", (s) => ["DELETE", `/v1/members/${s.member.id}/labels/b-only`]],
  ["DELETE /v1/labels/{slug}", () => ["DELETE", "/v1/labels/b-only"]],
  ["PATCH /v1/roles/{key}", () => ["PATCH", "/v1/roles/b-role", { name: "Hijacked" }]],
  ["DELETE /v1/roles/{key}", () => ["DELETE", "/v1/roles/b-role"]],
  ["DELETE /v1/api-keys/{id}", (s) => ["DELETE", `/v1/api-keys/${s.keyId}`]],
];

describe("tenant isolation", () => {
  it.each(ROUTES)("a key of another workspace gets 404 for %s and changes nothing", async (_, request) => {
    const s = await twoWorkspaces();
    const [beforeA, beforeB] = await Promise.all([snapshot(s.a.id), snapshot(s.b.id)]);
    const [method, path, body] = request(s);
    const res = await call(method, path, { key: s.a.key, body });
    expect(res.status).toBe(404);
    expect(res.body.error).toMatchObject({ code: "not_found", message: expect.any(String) });
    expect(await snapshot(s.b.id)).toEqual(beforeB);
    expect(await snapshot(s.a.id)).toEqual(beforeA);
    expect((await call("GET", `/v1/members/${s.member.id}`, { key: s.bKey })).status).toBe(200);
  });

  it("never lists another workspace's members, whatever the filter", async () => {
    const s = await twoWorkspaces();
    const filters: [query: string, bFinds: (s: Setup) => string][] = [
      ["", (s) => s.member.id],
      ["?status=archived", (s) => s.archived.id],
      ["?label=b-only", (s) => s.member.id],
      ["?q=b", (s) => s.member.id],
      ["?q=bea", (s) => s.member.id],
      ["?q=bea%40b", (s) => s.member.id],
      ["?role=b-role", (s) => s.member.id],
    ];
    const ids = async (key: string, query: string) =>
      (await call("GET", `/v1/members${query}`, { key })).body.data.map((m: { id: string }) => m.id);
    for (const [query, bFinds] of filters) {
      // The filter does match in B, so A's empty answer is isolation, not a filter that matches nothing.
      expect(await ids(s.b.key, query)).toContain(bFinds(s));
      expect((await ids(s.a.key, query)).filter((id: string) => id !== s.a.ownerId)).toEqual([]);
    }
  });

  it("never lists another workspace's labels, roles or API keys", async () => {
    const s = await twoWorkspaces();
    const labels = await call("GET", "/v1/labels", { key: s.a.key });
    expect(labels.body.data).toEqual([]);
    const roles = await call("GET", "/v1/roles", { key: s.a.key });
    expect(roles.body.data.map((r: { key: string }) => r.key)).toEqual(["manager", "user"]);
    const keys = await call("GET", "/v1/api-keys", { key: s.a.key });
    expect(keys.body.data.map((k: { memberId: string }) => k.memberId)).toEqual([s.a.ownerId]);
  });

  it("does not let a member be given another workspace's custom role", async () => {
    const s = await twoWorkspaces();
    const res = await call("POST", "/v1/members", {
      key: s.a.key,
      body: { name: "X", email: "x@a.test", role: "b-role" },
    });
    expect(res.status).toBe(422);
    expect(res.body.error.issues).toContainEqual(expect.objectContaining({ path: "role" }));
  });

  it("lets two workspaces each have a member with the same email, phone and external ID", async () => {
    const s = await twoWorkspaces();
    const body = { name: "Twin", email: "twin@b.test", phone: "+14155550100", externalId: "crm-1" };
    await addMember(s.b, body);
    const res = await call("POST", "/v1/members", { key: s.a.key, body });
    expect(res.status).toBe(201);
  });
});
