import { describe, expect, it } from "vitest";
import { snapshot } from "../db";
import { addMember, addRole, call, keyForRole, newWorkspace, type Workspace } from "../helpers";
import { asBrowser, latestToken, sessionCookie } from "../links";
import { configureSms, newNumber, postInbound, smsParams } from "../provider/twilio";

/** Signs a member in by the link the outbox holds and returns the session cookie, sent as a browser would. */
async function signIn(ws: Workspace, email: string) {
  const login = await call("POST", "/v1/auth/login", { body: { workspace: ws.slug, email } });
  expect(login.status).toBe(202);
  const verified = await call("POST", "/v1/auth/verify", { body: { token: await latestToken(ws, email) } });
  expect(verified.status).toBe(200);
  return asBrowser(sessionCookie(verified.headers));
}

/** A workspace with a customer of the built-in `user` role, another customer and a team member, all labelled. */
async function customersWorkspace() {
  const ws = await newWorkspace();
  const carla = await addMember(ws, { name: "Carla Customer", email: "carla@example.test", labels: ["club"] });
  const other = await addMember(ws, { name: "Otto Other", email: "otto@example.test", labels: ["club"] });
  const staff = await addMember(ws, { name: "Sam Staff", email: "sam@example.test", role: "manager" });
  return { ws, carla, other, staff };
}

const ids = (body: { data: { id: string }[] }) => body.data.map((m) => m.id);

describe("a customer (the built-in user role)", () => {
  it("signed in by their link, lists only themselves, with or without filters", async () => {
    const { ws, carla } = await customersWorkspace();
    const headers = await signIn(ws, "carla@example.test");
    for (const path of [
      "/v1/members",
      "/v1/members?type=customer",
      "/v1/members?role=user",
      "/v1/members?label=club",
      "/v1/members?q=c",
      "/v1/members?q=otto",
    ]) {
      const res = await call("GET", path, { headers });
      expect(res.status, path).toBe(200);
      expect(ids(res.body), path).toEqual(path.endsWith("otto") ? [] : [carla.id]);
    }
  });

  it("reads their own record and gets 404 for any other member, as if absent", async () => {
    const { ws, carla, other, staff } = await customersWorkspace();
    const headers = await signIn(ws, "carla@example.test");
    const own = await call("GET", `/v1/members/${carla.id}`, { headers });
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({ id: carla.id, email: "carla@example.test", type: "customer" });
    for (const id of [other.id, staff.id, ws.ownerId]) {
      const res = await call("GET", `/v1/members/${id}`, { headers });
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe("not_found");
    }
  });

  it("reads their own messages and gets 404 for another member's", async () => {
    const ws = await newWorkspace();
    await configureSms(ws);
    const carla = await addMember(ws, { name: "Carla", email: "carla@example.test", phone: newNumber() });
    const other = await addMember(ws, { name: "Otto", email: "otto@example.test", phone: newNumber() });
    for (const [member, text] of [
      [carla, "from carla"],
      [other, "from otto"],
    ] as const) {
      expect((await postInbound(ws.id, "sms", smsParams(member.phone, text))).status).toBe(200);
    }
    const { key } = await keyForRole(ws, "user");
    const headers = await signIn(ws, "carla@example.test");
    const own = await call("GET", `/v1/members/${carla.id}/messages`, { headers });
    expect(own.status).toBe(200);
    expect(own.body.data.map((m: { body: string }) => m.body)).toEqual(["from carla"]);
    for (const caller of [{ headers }, { key }]) {
      const res = await call("GET", `/v1/members/${other.id}/messages`, caller);
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe("not_found");
    }
  });

  it("still lists the workspace's labels", async () => {
    const { ws } = await customersWorkspace();
    const headers = await signIn(ws, "carla@example.test");
    const res = await call("GET", "/v1/labels", { headers });
    expect(res.status).toBe(200);
    expect(res.body.data.map((l: { slug: string }) => l.slug)).toEqual(["club"]);
  });

  it("with an API key too, while the user role itself is unchanged (no condition stored, not editable)", async () => {
    const { ws, carla } = await customersWorkspace();
    const { key, member } = await keyForRole(ws, "user");
    const listed = await call("GET", "/v1/members", { key });
    expect(ids(listed.body)).toEqual([member.id]);
    expect((await call("GET", `/v1/members/${carla.id}`, { key })).status).toBe(404);

    const roles = await call("GET", "/v1/roles", { key: ws.key });
    expect(roles.body.data.find((r: { key: string }) => r.key === "user")).toMatchObject({
      type: "customer",
      condition: null,
    });
    const edited = await call("PATCH", "/v1/roles/user", { key: ws.key, body: { type: "team" } });
    expect(edited.status).toBe(409);
    expect(edited.body.error.code).toBe("built_in_role");
    expect(ids((await call("GET", "/v1/members", { key })).body)).toEqual([member.id]);
  });
});

describe("custom customer roles", () => {
  it("reach only the member themselves too, whatever scopes they grant", async () => {
    const { ws, carla } = await customersWorkspace();
    await addRole(ws, "vip-customer", ["members:write", "labels:read"], "customer");
    const { key, member } = await keyForRole(ws, "vip-customer");
    expect(ids((await call("GET", "/v1/members", { key })).body)).toEqual([member.id]);

    const before = await snapshot(ws.id);
    for (const res of [
      await call("GET", `/v1/members/${carla.id}`, { key }),
      await call("PATCH", `/v1/members/${carla.id}`, { key, body: { name: "Changed" } }),
      await call("POST", `/v1/members/${carla.id}/labels`, { key, body: { labels: ["x"] } }),
    ]) {
      expect(res.status).toBe(404);
    }
    const created = await call("POST", "/v1/members", {
      key,
      body: { name: "New", email: "new@example.test", role: "vip-customer" },
    });
    expect(created.status).toBe(403);
    expect(await snapshot(ws.id)).toEqual(before);

    const renamed = await call("PATCH", `/v1/members/${member.id}`, { key, body: { name: "Renamed Me" } });
    expect(renamed.status).toBe(200);
    expect(renamed.body.name).toBe("Renamed Me");
  });

  it("a role that becomes a customer role is held to it from then on, and released when it becomes a team role", async () => {
    const { ws, carla } = await customersWorkspace();
    await addRole(ws, "front", ["members:read"], "team");
    const { key, member } = await keyForRole(ws, "front");
    expect((await call("GET", `/v1/members/${carla.id}`, { key })).status).toBe(200);

    expect((await call("PATCH", "/v1/roles/front", { key: ws.key, body: { type: "customer" } })).status).toBe(200);
    expect((await call("GET", `/v1/members/${carla.id}`, { key })).status).toBe(404);
    expect(ids((await call("GET", "/v1/members", { key })).body)).toEqual([member.id]);

    expect((await call("PATCH", "/v1/roles/front", { key: ws.key, body: { type: "team" } })).status).toBe(200);
    expect((await call("GET", `/v1/members/${carla.id}`, { key })).status).toBe(200);
  });

  it("with a condition of their own, reach themselves only while it holds for them", async () => {
    const ws = await newWorkspace();
    await addRole(ws, "club-customer", ["members:read"], "customer", `"club" in member.labels`);
    const { key, member } = await keyForRole(ws, "club-customer");
    await addMember(ws, { email: "o@example.test", labels: ["club"] });
    expect(ids((await call("GET", "/v1/members", { key })).body)).toEqual([]);
    expect((await call("GET", `/v1/members/${member.id}`, { key })).status).toBe(404);

    await call("POST", `/v1/members/${member.id}/labels`, { key: ws.key, body: { labels: ["club"] } });
    expect(ids((await call("GET", "/v1/members", { key })).body)).toEqual([member.id]);
  });

  it("with a condition ending in a comment, still reach themselves", async () => {
    const ws = await newWorkspace();
    await addRole(ws, "noted", ["members:read"], "customer", `member.status == "active" // customers in good standing`);
    const { key, member } = await keyForRole(ws, "noted");
    expect(ids((await call("GET", "/v1/members", { key })).body)).toEqual([member.id]);
  });

  it("refuse (422) a condition that, held together with the customer rule, goes past the limits", async () => {
    const ws = await newWorkspace();
    // 990 characters: within the limit alone, beyond it with `member.id == actor.id && (...)`.
    const long = `member.name != "${"x".repeat(256)}" && member.name != "${"y".repeat(256)}" && member.name != "${"z".repeat(256)}" && member.role != "${"w".repeat(142)}"`;
    expect(long.length).toBe(990);
    const body = (type: string) => ({ key: `r-${type}`, name: "R", type, scopes: ["members:read"], condition: long });
    expect((await call("POST", "/v1/roles", { key: ws.key, body: body("team") })).status).toBe(201);
    const refused = await call("POST", "/v1/roles", { key: ws.key, body: body("customer") });
    expect(refused.status).toBe(422);
    expect(refused.body.error.code).toBe("invalid_condition");
    expect(refused.body.error.issues[0].path).toBe("condition");
    expect(refused.body.error.message).toContain("member.id == actor.id");
    const retyped = await call("PATCH", "/v1/roles/r-team", { key: ws.key, body: { type: "customer" } });
    expect(retyped.status).toBe(422);
    expect(retyped.body.error.code).toBe("invalid_condition");
  });
});
