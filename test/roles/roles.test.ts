import { describe, expect, it } from "vitest";
import { eventsOf, snapshot } from "../db";
import { addMember, addRole, call, keyForRole, newWorkspace, walkPages } from "../helpers";

const roleKeys = async (key: string) =>
  (await call("GET", "/v1/roles", { key })).body.data.map((r: { key: string }) => r.key);

describe("roles", () => {
  it("comes with the built-in roles manager (team, every admin scope) and user (customer)", async () => {
    const ws = await newWorkspace();
    const res = await call("GET", "/v1/roles", { key: ws.key });
    expect(res.status).toBe(200);
    const manager = res.body.data.find((r: { key: string }) => r.key === "manager");
    const user = res.body.data.find((r: { key: string }) => r.key === "user");
    expect(manager).toMatchObject({ type: "team", builtIn: true, condition: null });
    expect(manager.scopes).toEqual(
      expect.arrayContaining(["members:admin", "labels:admin", "roles:admin", "workspace:admin"]),
    );
    expect(user).toMatchObject({ type: "customer", builtIn: true, condition: null });
    expect(user.scopes.some((s: string) => s.endsWith(":admin"))).toBe(false);
  });

  it("creates a custom role from scopes, lists it and records role.created", async () => {
    const ws = await newWorkspace();
    const res = await call("POST", "/v1/roles", {
      key: ws.key,
      body: { key: "support", name: "Support", type: "team", scopes: ["members:write", "labels:read"] },
    });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      key: "support",
      name: "Support",
      type: "team",
      scopes: ["members:write", "labels:read"],
      condition: null,
      builtIn: false,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    expect(await roleKeys(ws.key)).toEqual(["manager", "support", "user"]);
    expect((await eventsOf(ws.id)).at(-1)).toMatchObject({ type: "role.created" });
  });

  it("lists roles in pages of `limit` (50 unless given, at most 100), each role once, by key", async () => {
    const ws = await newWorkspace();
    const keys = Array.from({ length: 55 }, (_, i) => `desk-${String(i).padStart(2, "0")}`);
    for (const key of keys) await addRole(ws, key, ["members:read"]);

    const first = await call("GET", "/v1/roles", { key: ws.key });
    expect(first.body.data).toHaveLength(50);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const walked = await walkPages(ws.key, "/v1/roles?limit=9");
    expect(walked.map((r: { key: string }) => r.key)).toEqual([...keys, "manager", "user"]);
    expect((await call("GET", "/v1/roles?limit=101", { key: ws.key })).status).toBe(422);
  });

  it("answers 409 duplicate for a taken key, a built-in one included", async () => {
    const ws = await newWorkspace();
    await addRole(ws, "support", []);
    for (const key of ["support", "manager", "user"]) {
      const res = await call("POST", "/v1/roles", { key: ws.key, body: { key, name: "X", type: "team", scopes: [] } });
      expect(res.status).toBe(409);
    }
  });

  it.each([
    ["a condition that does not compile", { condition: "member.labels.exists(l, l == 'vip') &&" }, "condition"],
    ["an unknown scope", { scopes: ["members:delete"] }, "scopes.0"],
    ["an unknown type", { type: "robot" }, "type"],
    ["a bad key", { key: "Bad Key" }, "key"],
    ["an unknown field", { color: "red" }, "color"],
  ])("answers 422 for a role with %s", async (_, extra, path) => {
    const ws = await newWorkspace();
    const before = await snapshot(ws.id);
    const body = { key: "custom", name: "Custom", type: "team", scopes: [], ...extra };
    const res = await call("POST", "/v1/roles", { key: ws.key, body });
    expect(res.status).toBe(422);
    expect(res.body.error.issues.map((i: { path: string }) => i.path)).toContain(path);
    expect(await snapshot(ws.id)).toEqual(before);
  });

  it("refuses to create a role with a scope the caller lacks, with 403", async () => {
    const ws = await newWorkspace();
    await addRole(ws, "role-admin", ["roles:admin", "members:read"]);
    const { key } = await keyForRole(ws, "role-admin");
    const before = await snapshot(ws.id);
    const res = await call("POST", "/v1/roles", {
      key,
      body: { key: "sneaky", name: "Sneaky", type: "team", scopes: ["members:write"] },
    });
    expect(res.status).toBe(403);
    expect(await snapshot(ws.id)).toEqual(before);
    const ok = await call("POST", "/v1/roles", {
      key,
      body: { key: "reader", name: "Reader", type: "team", scopes: ["members:read"] },
    });
    expect(ok.status).toBe(201);
  });

  it("edits a custom role's name and scopes, and the members' keys follow the new scopes", async () => {
    const ws = await newWorkspace();
    await addRole(ws, "desk", ["members:read"]);
    const { key } = await keyForRole(ws, "desk");
    expect((await call("POST", "/v1/labels", { key, body: { name: "L1" } })).status).toBe(403);
    const res = await call("PATCH", "/v1/roles/desk", {
      key: ws.key,
      body: { name: "Front desk", scopes: ["members:read", "labels:write"] },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ key: "desk", name: "Front desk", scopes: ["members:read", "labels:write"] });
    expect((await eventsOf(ws.id)).at(-1)).toMatchObject({
      type: "role.updated",
      data: { role: { key: "desk", name: "Front desk", scopes: ["members:read", "labels:write"] } },
    });
    expect((await call("POST", "/v1/labels", { key, body: { name: "L2" } })).status).toBe(201);
  });

  it("changes the type of every member holding a role when the role's type changes", async () => {
    const ws = await newWorkspace();
    await addRole(ws, "partner", [], "team");
    const a = await addMember(ws, { email: "a@x.test", role: "partner" });
    const b = await addMember(ws, { email: "b@x.test", role: "partner" });
    await call("POST", `/v1/members/${b.id}/archive`, { key: ws.key });
    const res = await call("PATCH", "/v1/roles/partner", { key: ws.key, body: { type: "customer" } });
    expect(res.status).toBe(200);
    expect(res.body.type).toBe("customer");
    expect((await call("GET", `/v1/members/${a.id}`, { key: ws.key })).body.type).toBe("customer");
    expect((await call("GET", `/v1/members/${b.id}`, { key: ws.key })).body.type).toBe("customer");
    const customers = await call("GET", "/v1/members?type=customer", { key: ws.key });
    expect(customers.body.data.map((m: { id: string }) => m.id)).toEqual([a.id]);
    const teams = await call("GET", "/v1/members?type=team", { key: ws.key });
    expect(teams.body.data.map((m: { id: string }) => m.id)).toEqual([ws.ownerId]);
  });

  it("answers 422 for a role edit that sets an invalid condition", async () => {
    const ws = await newWorkspace();
    await addRole(ws, "cond", []);
    const before = await snapshot(ws.id);
    const res = await call("PATCH", "/v1/roles/cond", { key: ws.key, body: { condition: "member.nme == 'x'" } });
    expect(res.status).toBe(422);
    expect(await snapshot(ws.id)).toEqual(before);
  });

  it("keeps the built-in roles read-only", async () => {
    const ws = await newWorkspace();
    const before = await snapshot(ws.id);
    for (const key of ["manager", "user"]) {
      const patch = await call("PATCH", `/v1/roles/${key}`, { key: ws.key, body: { name: "Mine now" } });
      expect(patch.status).toBe(409);
      expect(patch.body.error.code).toBe("built_in_role");
      const del = await call("DELETE", `/v1/roles/${key}`, { key: ws.key });
      expect(del.status).toBe(409);
    }
    expect(await snapshot(ws.id)).toEqual(before);
  });

  it("refuses to delete a role members hold with 409 role_in_use, and deletes it once none does", async () => {
    const ws = await newWorkspace();
    await addRole(ws, "temp", []);
    const member = await addMember(ws, { email: "t@x.test", role: "temp" });
    const before = await snapshot(ws.id);
    const refused = await call("DELETE", "/v1/roles/temp", { key: ws.key });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe("role_in_use");
    expect(await snapshot(ws.id)).toEqual(before);
    await call("PATCH", `/v1/members/${member.id}`, { key: ws.key, body: { role: "user" } });
    const deleted = await call("DELETE", "/v1/roles/temp", { key: ws.key });
    expect(deleted.status).toBe(204);
    expect(await roleKeys(ws.key)).toEqual(["manager", "user"]);
    expect((await eventsOf(ws.id)).at(-1)).toMatchObject({ type: "role.deleted", data: { key: "temp" } });
  });

  it("answers 404 for an unknown role", async () => {
    const ws = await newWorkspace();
    expect((await call("PATCH", "/v1/roles/nope", { key: ws.key, body: { name: "X" } })).status).toBe(404);
    expect((await call("DELETE", "/v1/roles/nope", { key: ws.key })).status).toBe(404);
  });
});
