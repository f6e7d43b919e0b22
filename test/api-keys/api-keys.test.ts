import { describe, expect, it } from "vitest";
import { eventsOf, rows, shardDb, snapshot } from "../db";
import { addRole, call, keyForRole, newWorkspace } from "../helpers";

async function sha256Hex(text: string) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

const DAY = 86_400_000;

describe("POST /v1/api-keys", () => {
  it("creates a key shown once that acts as the caller, storing only its SHA-256", async () => {
    const ws = await newWorkspace();
    const res = await call("POST", "/v1/api-keys", { key: ws.key, body: { name: "CRM sync" } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      id: expect.any(String),
      key: expect.any(String),
      name: "CRM sync",
      memberId: ws.ownerId,
      expiresAt: expect.any(String),
    });
    const key: string = res.body.key;
    expect((await call("GET", `/v1/members/${ws.ownerId}`, { key })).status).toBe(200);

    const [stored] = await rows(ws.id, "select * from api_keys where id = ?", res.body.id);
    expect(stored?.key_hash).toBe(await sha256Hex(key));
    expect(Object.values(stored ?? {})).not.toContain(key);
    const everything = JSON.stringify(await snapshot(ws.id));
    expect(everything).not.toContain(key);

    const list = await call("GET", "/v1/api-keys", { key: ws.key });
    expect(list.status).toBe(200);
    const listed = list.body.data.find((k: { id: string }) => k.id === res.body.id);
    expect(listed).toEqual({
      id: res.body.id,
      name: "CRM sync",
      memberId: ws.ownerId,
      scopes: res.body.scopes,
      expiresAt: res.body.expiresAt,
      createdAt: res.body.createdAt,
    });
    expect(JSON.stringify(list.body)).not.toContain(key);
    expect(JSON.stringify(list.body)).not.toContain(stored?.key_hash);
    expect((await eventsOf(ws.id)).at(-1)).toMatchObject({ type: "api_key.created" });
  });

  it("gives a key the caller's scopes by default, and only the requested ones when narrowed", async () => {
    const ws = await newWorkspace();
    const res = await call("POST", "/v1/api-keys", { key: ws.key, body: { name: "Reader", scopes: ["members:read"] } });
    expect(res.status).toBe(201);
    expect(res.body.scopes).toEqual(["members:read"]);
    const key = res.body.key;
    expect((await call("GET", "/v1/members", { key })).status).toBe(200);
    const write = await call("POST", "/v1/members", { key, body: { name: "X", email: "x@x.test" } });
    expect(write.status).toBe(403);
    expect(write.body.error.code).toBe("forbidden");
    expect((await call("GET", "/v1/labels", { key })).status).toBe(403);
  });

  it("refuses with 403 a scope the caller does not hold, writing nothing", async () => {
    const ws = await newWorkspace();
    await addRole(ws, "key-admin", ["workspace:admin", "members:read"]);
    const { key } = await keyForRole(ws, "key-admin");
    const before = await snapshot(ws.id);
    for (const scopes of [["members:write"], ["members:read", "labels:read"], ["roles:admin"]]) {
      const res = await call("POST", "/v1/api-keys", { key, body: { name: "Too much", scopes } });
      expect(res.status).toBe(403);
    }
    expect(await snapshot(ws.id)).toEqual(before);
    const ok = await call("POST", "/v1/api-keys", { key, body: { name: "Fine", scopes: ["members:read"] } });
    expect(ok.status).toBe(201);
  });

  it.each([0, 366, -1, 1.5, "30", null])("answers 422 for expiresInDays %s", async (expiresInDays) => {
    const ws = await newWorkspace();
    const before = await snapshot(ws.id);
    const res = await call("POST", "/v1/api-keys", { key: ws.key, body: { name: "Bad", expiresInDays } });
    expect(res.status).toBe(422);
    expect(res.body.error.issues.map((i: { path: string }) => i.path)).toContain("expiresInDays");
    expect(await snapshot(ws.id)).toEqual(before);
  });

  it.each([1, 365])("accepts expiresInDays %s and expires the key that many days later", async (days) => {
    const ws = await newWorkspace();
    const started = Date.now();
    const res = await call("POST", "/v1/api-keys", { key: ws.key, body: { name: "Ok", expiresInDays: days } });
    expect(res.status).toBe(201);
    const expiresAt = Date.parse(res.body.expiresAt);
    expect(expiresAt).toBeGreaterThanOrEqual(started + days * DAY - 60_000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + days * DAY + 60_000);
  });

  it("answers 422 for a missing name or an unknown scope", async () => {
    const ws = await newWorkspace();
    expect((await call("POST", "/v1/api-keys", { key: ws.key, body: {} })).status).toBe(422);
    const bad = await call("POST", "/v1/api-keys", { key: ws.key, body: { name: "X", scopes: ["everything"] } });
    expect(bad.status).toBe(422);
  });
});

describe("API key lifetime", () => {
  it("revokes a key: it answers 401 from then on, leaves the list, and a second revoke is 404", async () => {
    const ws = await newWorkspace();
    const created = await call("POST", "/v1/api-keys", { key: ws.key, body: { name: "Temp" } });
    const revoked = await call("DELETE", `/v1/api-keys/${created.body.id}`, { key: ws.key });
    expect(revoked.status).toBe(204);
    const refused = await call("GET", "/v1/members", { key: created.body.key });
    expect(refused.status).toBe(401);
    expect(refused.body.error.code).toBe("unauthorized");
    const list = await call("GET", "/v1/api-keys", { key: ws.key });
    expect(list.body.data.map((k: { id: string }) => k.id)).not.toContain(created.body.id);
    expect((await call("DELETE", `/v1/api-keys/${created.body.id}`, { key: ws.key })).status).toBe(404);
    expect((await eventsOf(ws.id)).at(-1)).toMatchObject({ type: "api_key.revoked", data: { id: created.body.id } });
  });

  it("answers 404 when revoking an unknown key", async () => {
    const ws = await newWorkspace();
    const res = await call("DELETE", "/v1/api-keys/key_NOPE", { key: ws.key });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe("not_found");
  });

  it("refuses the key of an archived member with 401", async () => {
    const ws = await newWorkspace();
    const { member, key } = await keyForRole(ws, "manager");
    await call("POST", `/v1/members/${member.id}/archive`, { key: ws.key });
    const res = await call("GET", "/v1/members", { key });
    expect(res.status).toBe(401);
  });

  it("refuses an expired key with 401 and no longer lists it", async () => {
    const ws = await newWorkspace();
    const created = await call("POST", "/v1/api-keys", { key: ws.key, body: { name: "Old" } });
    await (await shardDb(ws.id))
      .prepare("update api_keys set expires_at = ? where id = ?")
      .bind(new Date(Date.now() - 1000).toISOString(), created.body.id)
      .run();
    expect((await call("GET", "/v1/members", { key: created.body.key })).status).toBe(401);
    const list = await call("GET", "/v1/api-keys", { key: ws.key });
    expect(list.body.data.map((k: { id: string }) => k.id)).not.toContain(created.body.id);
  });

  it("caps a key at its member's current role: a demoted manager's admin key keeps what the new role grants", async () => {
    const ws = await newWorkspace();
    await addRole(ws, "editor", ["members:write", "labels:read"]);
    const other = await keyForRole(ws, "manager");
    // The owner's key holds admin scopes; the owner becomes an editor.
    const demoted = await call("PATCH", `/v1/members/${ws.ownerId}`, { key: other.key, body: { role: "editor" } });
    expect(demoted.status).toBe(200);
    const created = await call("POST", "/v1/members", { key: ws.key, body: { name: "New", email: "new@x.test" } });
    expect(created.status).toBe(201);
    expect((await call("GET", "/v1/labels", { key: ws.key })).status).toBe(200);
    expect((await call("POST", "/v1/labels", { key: ws.key, body: { name: "L" } })).status).toBe(403);
    expect((await call("GET", "/v1/roles", { key: ws.key })).status).toBe(403);
    expect((await call("GET", "/v1/api-keys", { key: ws.key })).status).toBe(403);
  });
});

describe("GET /v1/api-keys/scopes", () => {
  it("names exactly the scopes the caller may give a new key, so a form offers no scope the server refuses", async () => {
    const ws = await newWorkspace();
    await addRole(ws, "syncer", ["members:write", "workspace:admin"]);
    const { key } = await keyForRole(ws, "syncer");
    const res = await call("GET", "/v1/api-keys/scopes", { key });
    expect(res.status).toBe(200);
    // Expanded: admin implies write implies read, each one a box a form can tick.
    expect(res.body.scopes).toEqual([
      "members:read",
      "members:write",
      "workspace:read",
      "workspace:write",
      "workspace:admin",
    ]);
    const created = await call("POST", "/v1/api-keys", { key, body: { name: "All of mine", scopes: res.body.scopes } });
    expect(created.status).toBe(201);
    expect((await call("GET", "/v1/api-keys/scopes", { key: ws.key })).body.scopes).toHaveLength(21);
  });
});
