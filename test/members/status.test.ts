import { describe, expect, it } from "vitest";
import { eventsOf, snapshot } from "../db";
import { addMember, addRole, call, keyForRole, newWorkspace } from "../helpers";

const listIds = async (key: string, query = "") =>
  (await call("GET", `/v1/members${query}`, { key })).body.data.map((m: { id: string }) => m.id);

describe("archive and unarchive", () => {
  it("archives a member: hidden from the default list, shown with status=archived, and back after unarchive", async () => {
    const ws = await newWorkspace();
    const member = await addMember(ws, { name: "Arch Ive", email: "a@x.test", labels: ["vip"] });
    const archived = await call("POST", `/v1/members/${member.id}/archive`, { key: ws.key });
    expect(archived.status).toBe(200);
    expect(archived.body).toMatchObject({ id: member.id, status: "archived" });
    expect(await listIds(ws.key)).not.toContain(member.id);
    expect(await listIds(ws.key, "?label=vip")).toEqual([]);
    expect(await listIds(ws.key, "?q=arch")).toEqual([]);
    expect(await listIds(ws.key, "?status=archived")).toEqual([member.id]);
    expect(await listIds(ws.key, "?status=archived&label=vip")).toEqual([member.id]);
    expect(await listIds(ws.key, "?status=archived&q=arch")).toEqual([member.id]);
    expect((await call("GET", `/v1/members/${member.id}`, { key: ws.key })).body.status).toBe("archived");

    const unarchived = await call("POST", `/v1/members/${member.id}/unarchive`, { key: ws.key });
    expect(unarchived.status).toBe(200);
    expect(unarchived.body).toMatchObject({ id: member.id, status: "active" });
    expect(await listIds(ws.key)).toContain(member.id);
    expect(await listIds(ws.key, "?label=vip")).toEqual([member.id]);
    expect(await listIds(ws.key, "?status=archived")).toEqual([]);

    const types = (await eventsOf(ws.id)).map((e) => e.type);
    expect(types.slice(-2)).toEqual(["member.archived", "member.unarchived"]);
  });

  it("answers 409 when archiving an archived member or unarchiving an active one, and changes nothing", async () => {
    const ws = await newWorkspace();
    const member = await addMember(ws, { email: "s@x.test" });
    const active = await snapshot(ws.id);
    const notArchived = await call("POST", `/v1/members/${member.id}/unarchive`, { key: ws.key });
    expect(notArchived.status).toBe(409);
    expect(notArchived.body.error).toMatchObject({ code: expect.any(String), message: expect.any(String) });
    expect(await snapshot(ws.id)).toEqual(active);

    await call("POST", `/v1/members/${member.id}/archive`, { key: ws.key });
    const archived = await snapshot(ws.id);
    const twice = await call("POST", `/v1/members/${member.id}/archive`, { key: ws.key });
    expect(twice.status).toBe(409);
    expect(await snapshot(ws.id)).toEqual(archived);
  });

  it("refuses to let a member archive themselves with 409", async () => {
    const ws = await newWorkspace();
    const before = await snapshot(ws.id);
    const res = await call("POST", `/v1/members/${ws.ownerId}/archive`, { key: ws.key });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe("cannot_archive_self");
    expect(await snapshot(ws.id)).toEqual(before);
  });

  it("answers 404 for an unknown member", async () => {
    const ws = await newWorkspace();
    for (const action of ["archive", "unarchive"]) {
      const res = await call("POST", `/v1/members/mem_NOPE/${action}`, { key: ws.key });
      expect(res.status).toBe(404);
    }
  });

  it("stops an archived member's API keys working, and unarchiving restores them", async () => {
    const ws = await newWorkspace();
    const { member, key } = await keyForRole(ws, "manager");
    expect((await call("GET", "/v1/members", { key })).status).toBe(200);
    await call("POST", `/v1/members/${member.id}/archive`, { key: ws.key });
    const refused = await call("GET", "/v1/members", { key });
    expect(refused.status).toBe(401);
    expect(refused.body.error.code).toBe("unauthorized");
    await call("POST", `/v1/members/${member.id}/unarchive`, { key: ws.key });
    expect((await call("GET", "/v1/members", { key })).status).toBe(200);
  });

  it("does not let a caller archive someone whose role grants more than theirs, such as the owner", async () => {
    const ws = await newWorkspace();
    await addRole(ws, "support", ["members:write", "labels:read"]);
    const { key } = await keyForRole(ws, "support");
    const before = await snapshot(ws.id);
    const res = await call("POST", `/v1/members/${ws.ownerId}/archive`, { key });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toEqual(expect.any(String));
    expect(await snapshot(ws.id)).toEqual(before);
    expect((await call("GET", "/v1/members", { key: ws.key })).status).toBe(200);
    const customer = await addMember(ws, { email: "cust@x.test" });
    expect((await call("POST", `/v1/members/${customer.id}/archive`, { key })).status).toBe(200);
  });
});
