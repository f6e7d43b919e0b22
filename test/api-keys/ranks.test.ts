import { describe, expect, it } from "vitest";
import { snapshot } from "../db";
import { addRole, call, keyForRole, newWorkspace, type Workspace } from "../helpers";

/** A key of a role holding workspace:admin and what the built-in user role holds, below a manager. */
async function keyAdmin(ws: Workspace) {
  await addRole(ws, "key-admin", ["workspace:admin", "members:read", "labels:read"]);
  return keyForRole(ws, "key-admin");
}

const createKey = async (key: string, name: string) => {
  const res = await call("POST", "/v1/api-keys", { key, body: { name } });
  if (res.status !== 201) throw new Error(`key creation failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: string; key: string; memberId: string };
};

const keysOf = async (key: string) =>
  (await call("GET", "/v1/api-keys", { key })).body.data as { id: string; memberId: string }[];
const listedIds = async (key: string) => (await keysOf(key)).map((k) => k.id);

describe("API keys of a member who outranks the caller", () => {
  it("are not revoked (403 role_exceeds_caller): the owner's key keeps working", async () => {
    const ws = await newWorkspace();
    const admin = await keyAdmin(ws);
    const ownersKey = await createKey(ws.key, "Owner's integration");
    const before = await snapshot(ws.id);

    const res = await call("DELETE", `/v1/api-keys/${ownersKey.id}`, { key: admin.key });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe("role_exceeds_caller");
    expect(await snapshot(ws.id)).toEqual(before);
    expect((await call("GET", "/v1/members", { key: ownersKey.key })).status).toBe(200);
  });

  it("are left out of the caller's list, which still shows their own keys and those of members they outrank", async () => {
    const ws = await newWorkspace();
    const admin = await keyAdmin(ws);
    const ownersKey = await createKey(ws.key, "Owner's integration");
    const own = await createKey(admin.key, "Mine");
    const customer = await keyForRole(ws, "user");
    const all = await keysOf(ws.key);
    const customersKey = all.find((k) => k.memberId === customer.member.id);
    expect(all.map((k) => k.id)).toEqual(expect.arrayContaining([ownersKey.id, own.id, customersKey?.id]));

    const seen = await listedIds(admin.key);
    expect(seen).toEqual(expect.arrayContaining([own.id, customersKey?.id]));
    expect(all.filter((k) => k.memberId === ws.ownerId).map((k) => k.id)).toHaveLength(2);
    for (const key of all.filter((k) => k.memberId === ws.ownerId)) expect(seen).not.toContain(key.id);
  });

  it("may still be revoked by their own member through a narrowed key, and by a caller who outranks them", async () => {
    const ws = await newWorkspace();
    const admin = await keyAdmin(ws);
    const narrowed = await call("POST", "/v1/api-keys", {
      key: admin.key,
      body: { name: "Narrow", scopes: ["workspace:admin"] },
    });
    const mine = await createKey(admin.key, "Mine");
    expect((await call("DELETE", `/v1/api-keys/${mine.id}`, { key: narrowed.body.key })).status).toBe(204);
    expect(await listedIds(narrowed.body.key)).toContain(narrowed.body.id);
    expect(
      (
        await call("DELETE", `/v1/api-keys/${(await keysOf(ws.key)).find((k) => k.memberId === ws.ownerId)?.id}`, {
          key: narrowed.body.key,
        })
      ).status,
    ).toBe(403);

    const customer = await keyForRole(ws, "user");
    const customersKey = (await keysOf(ws.key)).find((k) => k.memberId === customer.member.id);
    // A key narrowed to workspace:admin lacks what the customer's role holds, but not its own member's keys.
    expect(await listedIds(narrowed.body.key)).not.toContain(customersKey?.id);
    expect((await call("DELETE", `/v1/api-keys/${customersKey?.id}`, { key: admin.key })).status).toBe(204);
    expect((await call("DELETE", `/v1/api-keys/${narrowed.body.id}`, { key: ws.key })).status).toBe(204);
  });
});
