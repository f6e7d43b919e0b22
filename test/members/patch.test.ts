import { describe, expect, it } from "vitest";
import { eventsOf, snapshot } from "../db";
import { addMember, addRole, call, keyForRole, newWorkspace } from "../helpers";

describe("PATCH /v1/members/{id}", () => {
  it("renames a member and records member.updated", async () => {
    const ws = await newWorkspace();
    const member = await addMember(ws, { name: "Old Name", email: "p@x.test" });
    const res = await call("PATCH", `/v1/members/${member.id}`, { key: ws.key, body: { name: "New Name" } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: member.id, name: "New Name", email: "p@x.test" });
    expect(res.body.updatedAt >= member.updatedAt).toBe(true);
    expect((await call("GET", `/v1/members/${member.id}`, { key: ws.key })).body).toEqual(res.body);
    expect((await eventsOf(ws.id)).at(-1)).toMatchObject({ type: "member.updated", data: { member: res.body } });
  });

  it("answers an empty edit with the member unchanged and appends no event", async () => {
    const ws = await newWorkspace();
    const member = await addMember(ws, { email: "same@x.test" });
    const before = await snapshot(ws.id);
    const res = await call("PATCH", `/v1/members/${member.id}`, { key: ws.key, body: {} });
    expect(res.status).toBe(200);
    expect(res.body).toEqual(member);
    expect(await snapshot(ws.id)).toEqual(before);
  });

  it("finds a renamed member by the new name and no longer by the old one", async () => {
    const ws = await newWorkspace();
    const member = await addMember(ws, { name: "Zed Old", email: "zed@x.test" });
    await call("PATCH", `/v1/members/${member.id}`, { key: ws.key, body: { name: "Quinn New" } });
    const byNew = await call("GET", "/v1/members?q=quinn", { key: ws.key });
    expect(byNew.body.data.map((m: { id: string }) => m.id)).toEqual([member.id]);
    const byOld = await call("GET", "/v1/members?q=zed%20old", { key: ws.key });
    expect(byOld.body.data).toEqual([]);
  });

  it("changes the role, and the type follows the new role", async () => {
    const ws = await newWorkspace();
    await addRole(ws, "agent", ["members:read"]);
    const member = await addMember(ws, { email: "r@x.test" });
    expect(member).toMatchObject({ role: "user", type: "customer" });
    const res = await call("PATCH", `/v1/members/${member.id}`, { key: ws.key, body: { role: "agent" } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ role: "agent", type: "team" });
    const teams = await call("GET", "/v1/members?type=team", { key: ws.key });
    expect(teams.body.data.map((m: { id: string }) => m.id)).toContain(member.id);
    const back = await call("PATCH", `/v1/members/${member.id}`, { key: ws.key, body: { role: "user" } });
    expect(back.body).toMatchObject({ role: "user", type: "customer" });
  });

  it("sets and clears the external ID, refusing one another member holds with 409 duplicate", async () => {
    const ws = await newWorkspace();
    const other = await addMember(ws, { externalId: "crm-1" });
    const member = await addMember(ws, { email: "e@x.test" });
    const set = await call("PATCH", `/v1/members/${member.id}`, { key: ws.key, body: { externalId: "crm-2" } });
    expect(set.body.externalId).toBe("crm-2");
    const before = await snapshot(ws.id);
    const taken = await call("PATCH", `/v1/members/${member.id}`, { key: ws.key, body: { externalId: "crm-1" } });
    expect(taken.status).toBe(409);
    expect(taken.body.error).toMatchObject({ code: "duplicate", existingId: other.id });
    expect(await snapshot(ws.id)).toEqual(before);
    const cleared = await call("PATCH", `/v1/members/${member.id}`, { key: ws.key, body: { externalId: null } });
    expect(cleared.body.externalId).toBeNull();
    const same = await call("PATCH", `/v1/members/${other.id}`, { key: ws.key, body: { externalId: "crm-1" } });
    expect(same.status).toBe(200);
  });

  it("refuses to clear the external ID of a member it is the only identifier of", async () => {
    const ws = await newWorkspace();
    const member = await addMember(ws, { externalId: "only-id" });
    const res = await call("PATCH", `/v1/members/${member.id}`, { key: ws.key, body: { externalId: null } });
    expect(res.status).toBe(422);
  });

  it("replaces the labels, creating unknown ones, and the label filter follows", async () => {
    const ws = await newWorkspace();
    const member = await addMember(ws, { email: "l@x.test", labels: ["old"] });
    const res = await call("PATCH", `/v1/members/${member.id}`, {
      key: ws.key,
      body: { labels: ["new", "vip", "new"] },
    });
    expect(res.status).toBe(200);
    expect(res.body.labels).toEqual(["new", "vip"]);
    const old = await call("GET", "/v1/members?label=old", { key: ws.key });
    expect(old.body.data).toEqual([]);
    const vip = await call("GET", "/v1/members?label=vip", { key: ws.key });
    expect(vip.body.data.map((m: { id: string }) => m.id)).toEqual([member.id]);
    const labels = await call("GET", "/v1/labels", { key: ws.key });
    expect(labels.body.data.map((l: { slug: string }) => l.slug)).toEqual(expect.arrayContaining(["new", "vip"]));
  });

  it.each([
    ["email", { email: "new@x.test" }],
    ["phone", { phone: "+14155550199" }],
    ["email alongside a name", { name: "Fine", email: "new@x.test" }],
  ])("answers 422 use_credential_change for %s and changes nothing", async (_, body) => {
    const ws = await newWorkspace();
    const member = await addMember(ws, { email: "c@x.test", phone: "+14155550100" });
    const before = await snapshot(ws.id);
    const res = await call("PATCH", `/v1/members/${member.id}`, { key: ws.key, body });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe("use_credential_change");
    expect(await snapshot(ws.id)).toEqual(before);
  });

  it.each([
    ["an unknown role", { role: "wizard" }, 422],
    ["a too long name", { name: "x".repeat(201) }, 422],
    ["an unknown field", { nickname: "Al" }, 422],
    ["a non-slug label", { labels: ["Bad Label"] }, 422],
    ["a JSON array instead of an object", [], 422],
  ])("answers an error for %s and changes nothing", async (_, body, status) => {
    const ws = await newWorkspace();
    const member = await addMember(ws, { email: "v@x.test" });
    const before = await snapshot(ws.id);
    const res = await call("PATCH", `/v1/members/${member.id}`, { key: ws.key, body });
    expect(res.status).toBe(status);
    expect(res.body.error.code).toEqual(expect.any(String));
    expect(await snapshot(ws.id)).toEqual(before);
  });

  it("answers 404 for an unknown member", async () => {
    const ws = await newWorkspace();
    const res = await call("PATCH", "/v1/members/mem_NOPE", { key: ws.key, body: { name: "X" } });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe("not_found");
  });

  it("refuses to give a member a role that grants more than the caller holds", async () => {
    const ws = await newWorkspace();
    await addRole(ws, "editor", ["members:write"]);
    const { key } = await keyForRole(ws, "editor");
    const member = await addMember(ws, { email: "t@x.test", role: "editor" });
    const before = await snapshot(ws.id);
    const res = await call("PATCH", `/v1/members/${member.id}`, { key, body: { role: "manager" } });
    expect(res.status).toBe(403);
    expect(await snapshot(ws.id)).toEqual(before);
  });

  it("refuses to change the caller's own role", async () => {
    const ws = await newWorkspace();
    const res = await call("PATCH", `/v1/members/${ws.ownerId}`, { key: ws.key, body: { role: "user" } });
    expect(res.status).toBe(409);
  });

  it("does not let a caller change the role of someone whose role grants more than theirs, such as the owner", async () => {
    const ws = await newWorkspace();
    await addRole(ws, "support", ["members:write", "labels:read"]);
    const { key } = await keyForRole(ws, "support");
    const before = await snapshot(ws.id);
    const res = await call("PATCH", `/v1/members/${ws.ownerId}`, { key, body: { role: "user" } });
    expect(res.status).toBe(403);
    expect(await snapshot(ws.id)).toEqual(before);
    expect((await call("GET", "/v1/roles", { key: ws.key })).status).toBe(200);
    const renamed = await call("PATCH", `/v1/members/${ws.ownerId}`, { key, body: { name: "Olive O." } });
    expect(renamed.status).toBe(200);
  });
});
