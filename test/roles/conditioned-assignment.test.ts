import { describe, expect, it } from "vitest";
import { addMember, call, keyForRole, newWorkspace, type Workspace } from "../helpers";
import { csv, importCsv, postCsv } from "../imports/helpers";

const VIP_DESK = `!("vip" in member.labels) || "vip-desk" in actor.labels`;

async function role(ws: Workspace, key: string, body: Record<string, unknown>, as = ws.key) {
  return call("POST", "/v1/roles", { key: as, body: { key, name: `Role ${key}`, type: "team", ...body } });
}

/**
 * A workspace whose "desk" agents (members, invitations and roles, limited by VIP_DESK)
 * may hand out "desk-customer", a customer role with the same condition, and the
 * unconditioned built-in "user".
 */
async function deskWorkspace() {
  const ws = await newWorkspace();
  const scopes = ["members:write", "labels:read", "invitations:write", "roles:admin"];
  expect((await role(ws, "desk", { scopes, condition: VIP_DESK })).status).toBe(201);
  const same = { scopes: ["members:read"], condition: VIP_DESK, type: "customer" };
  expect((await role(ws, "desk-customer", same)).status).toBe(201);
  const agent = await keyForRole(ws, "desk");
  return { ws, agent: agent.key, agentId: agent.member.id };
}

describe("a caller whose role has a condition assigns only roles with the same condition", () => {
  it("cannot add a member with a role without it, not even the built-in user", async () => {
    const { ws, agent } = await deskWorkspace();
    const res = await call("POST", "/v1/members", { key: agent, body: { name: "Alt", email: "alt@example.test" } });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe("role_exceeds_caller");
    expect(res.body.error.message).toContain('"user" has none');
    const listed = await call("GET", "/v1/members?q=alt", { key: ws.key });
    expect(listed.body.data).toEqual([]);
  });

  it("adds a member, and moves one, to a role with the same condition", async () => {
    const { ws, agent } = await deskWorkspace();
    const created = await call("POST", "/v1/members", {
      key: agent,
      body: { name: "Cus", email: "cus@example.test", role: "desk-customer" },
    });
    expect(created.status).toBe(201);
    const other = await addMember(ws, { email: "other@example.test", role: "desk-customer" });
    const kept = await call("PATCH", `/v1/members/${other.id}`, {
      key: agent,
      body: { name: "Kept", role: "desk-customer" },
    });
    expect(kept.status).toBe(200);
  });

  it("cannot move a member to a role without it, or with another condition", async () => {
    const { ws, agent } = await deskWorkspace();
    expect(
      (await role(ws, "elsewhere", { scopes: ["members:read"], condition: `member.status == "active"` })).status,
    ).toBe(201);
    const member = await addMember(ws, { email: "m@example.test", role: "desk-customer" });
    for (const key of ["user", "elsewhere"]) {
      const res = await call("PATCH", `/v1/members/${member.id}`, { key: agent, body: { role: key } });
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe("role_exceeds_caller");
    }
    expect((await call("GET", `/v1/members/${member.id}`, { key: ws.key })).body.role).toBe("desk-customer");
  });

  it("cannot invite to a role without it", async () => {
    const { agent } = await deskWorkspace();
    const refused = await call("POST", "/v1/invitations", {
      key: agent,
      body: { email: "alt@example.test", role: "user" },
    });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe("role_exceeds_caller");
    const invited = await call("POST", "/v1/invitations", {
      key: agent,
      body: { email: "ok@example.test", role: "desk-customer" },
    });
    expect(invited.status).toBe(201);
  });

  it("cannot import members with a role without it, by default or by column", async () => {
    const { ws, agent } = await deskWorkspace();
    const byDefault = await postCsv(ws, csv("email", "a@example.test"), { key: agent });
    expect(byDefault.status).toBe(403);
    expect(byDefault.body.error.code).toBe("role_exceeds_caller");
    const byColumn = await importCsv(ws, csv("email,role", "b@example.test,user", "c@example.test,desk-customer"), {
      key: agent,
      role: "desk-customer",
    });
    expect(byColumn).toMatchObject({ status: "completed", created: 1, failed: 1 });
    const errors = await call("GET", `/v1/imports/${byColumn.id}/errors.csv`, { key: ws.key });
    expect(errors.body).toContain("same condition");
  });

  it("cannot create or edit a role to escape it, its own role included", async () => {
    const { ws, agent } = await deskWorkspace();
    const none = await role(ws, "open", { scopes: ["members:read"] }, agent);
    expect(none.status).toBe(403);
    expect(none.body.error.code).toBe("role_exceeds_caller");
    const other = await role(ws, "other", { scopes: ["members:read"], condition: "true" }, agent);
    expect(other.status).toBe(403);
    const cleared = await call("PATCH", "/v1/roles/desk", { key: agent, body: { condition: null } });
    expect(cleared.status).toBe(403);
    const renamed = await call("PATCH", "/v1/roles/desk-customer", { key: agent, body: { name: "Desk customers" } });
    expect(renamed.status).toBe(200);
    const same = await role(ws, "desk-2", { scopes: ["members:read"], condition: VIP_DESK }, agent);
    expect(same.status).toBe(201);
    expect(
      (await call("GET", "/v1/roles", { key: ws.key })).body.data.find((r: { key: string }) => r.key === "desk"),
    ).toMatchObject({ condition: VIP_DESK });
  });

  it("leaves callers without a condition free to assign any role they hold the scopes of", async () => {
    const ws = await newWorkspace();
    const res = await call("POST", "/v1/members", { key: ws.key, body: { name: "U", email: "u@example.test" } });
    expect(res.status).toBe(201);
    expect(res.body.role).toBe("user");
  });
});

describe("labels a condition reads on the actor move only toward the caller's own", () => {
  /** A desk agent without "vip-desk", one with it, and a VIP only the latter reaches. */
  async function deskWithVip() {
    const { ws, agent, agentId } = await deskWorkspace();
    const vipAgent = await keyForRole(ws, "desk");
    await call("POST", `/v1/members/${vipAgent.member.id}/labels`, { key: ws.key, body: { labels: ["vip-desk"] } });
    const vip = await addMember(ws, { email: "vip@example.test", labels: ["vip"] });
    return { ws, agent, agentId, vipAgent, vip };
  }

  it("an agent cannot give themselves the label that would let them reach VIPs", async () => {
    const { agent, agentId, vip } = await deskWithVip();
    const refused = await call("POST", `/v1/members/${agentId}/labels`, { key: agent, body: { labels: ["vip-desk"] } });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe("forbidden_by_condition");
    expect((await call("GET", `/v1/members/${vip.id}`, { key: agent })).status).toBe(404);
  });

  it("nor give it to a member they create or edit, nor import one with it", async () => {
    const { ws, agent } = await deskWithVip();
    const created = await call("POST", "/v1/members", {
      key: agent,
      body: { name: "Alt", email: "alt@example.test", role: "desk-customer", labels: ["vip-desk"] },
    });
    expect(created.status).toBe(403);
    const other = await addMember(ws, { email: "o@example.test", role: "desk-customer" });
    for (const res of [
      await call("POST", `/v1/members/${other.id}/labels`, { key: agent, body: { labels: ["vip-desk"] } }),
      await call("PATCH", `/v1/members/${other.id}`, { key: agent, body: { labels: ["vip-desk"] } }),
    ]) {
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe("forbidden_by_condition");
    }
    const imported = await importCsv(ws, csv("email,labels", "imp@example.test,vip-desk", "ok@example.test,plain"), {
      key: agent,
      role: "desk-customer",
    });
    expect(imported).toMatchObject({ status: "completed", created: 1, failed: 1 });
    expect((await call("GET", `/v1/members/${other.id}`, { key: ws.key })).body.labels).toEqual([]);
  });

  it("a holder may give it, and labels the condition does not read change freely", async () => {
    const { ws, agent, vipAgent } = await deskWithVip();
    const other = await addMember(ws, { email: "o@example.test", role: "desk-customer" });
    const given = await call("POST", `/v1/members/${other.id}/labels`, {
      key: vipAgent.key,
      body: { labels: ["vip-desk"] },
    });
    expect(given.status).toBe(200);
    const removed = await call("DELETE", `/v1/members/${other.id}/labels/vip-desk`, { key: agent });
    expect(removed.status).toBe(200);
    const taken = await call("POST", `/v1/members/${other.id}/labels`, {
      key: vipAgent.key,
      body: { labels: ["vip-desk"] },
    });
    expect(taken.status).toBe(200);
    const byHolder = await call("DELETE", `/v1/members/${other.id}/labels/vip-desk`, { key: vipAgent.key });
    expect(byHolder.status).toBe(403);
    const plain = await call("POST", `/v1/members/${other.id}/labels`, { key: agent, body: { labels: ["plain"] } });
    expect(plain.status).toBe(200);
  });
});
