import { describe, expect, it } from "vitest";
import { rows, snapshot } from "../db";
import { addMember, addRole, call, keyForRole, newWorkspace, type Workspace } from "../helpers";

async function invite(ws: Workspace, body: Record<string, unknown>, key = ws.key) {
  const res = await call("POST", "/v1/invitations", { key, body });
  if (res.status !== 201) throw new Error(`invite failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: string; memberId: string };
}

/** A desk that invites customers: invitations:write and what the built-in user role holds. */
async function deskKey(ws: Workspace) {
  await addRole(ws, "desk", ["invitations:write", "members:read", "labels:read"]);
  return (await keyForRole(ws, "desk")).key;
}

const invitationRows = (ws: Workspace, id: string) => rows(ws.id, "select * from invitations where id = ?", id);
const outboxCount = async (ws: Workspace, to: string) =>
  (await call("GET", `/v1/outbox?to=${encodeURIComponent(to)}`, { key: ws.key })).body.data.length as number;

describe("invitations of someone who outranks the caller", () => {
  it("are neither resent nor revoked (403 role_exceeds_caller), changing and sending nothing", async () => {
    const ws = await newWorkspace();
    const desk = await deskKey(ws);
    const manager = await invite(ws, { email: "boss@x.test", role: "manager" });
    const before = { data: await snapshot(ws.id), invitation: await invitationRows(ws, manager.id) };
    const sent = await outboxCount(ws, "boss@x.test");

    for (const action of ["resend", "revoke"]) {
      const res = await call("POST", `/v1/invitations/${manager.id}/${action}`, { key: desk });
      expect(res.status, action).toBe(403);
      expect(res.body.error.code).toBe("role_exceeds_caller");
    }
    expect({ data: await snapshot(ws.id), invitation: await invitationRows(ws, manager.id) }).toEqual(before);
    expect(await outboxCount(ws, "boss@x.test")).toBe(sent);
  });

  it("are resent and revoked as before when the caller outranks the invitee", async () => {
    const ws = await newWorkspace();
    const desk = await deskKey(ws);
    const customer = await invite(ws, { email: "cust@x.test" }, desk);
    expect((await call("POST", `/v1/invitations/${customer.id}/resend`, { key: desk })).status).toBe(200);
    expect((await call("POST", `/v1/invitations/${customer.id}/revoke`, { key: desk })).status).toBe(200);
  });

  it("do not bring back an archived member who outranks the caller (403), writing nothing", async () => {
    const ws = await newWorkspace();
    const desk = await deskKey(ws);
    const boss = await addMember(ws, { email: "former-boss@x.test", role: "manager" });
    expect((await call("POST", `/v1/members/${boss.id}/archive`, { key: ws.key })).status).toBe(200);
    const before = await snapshot(ws.id);
    const res = await call("POST", "/v1/invitations", { key: desk, body: { email: "former-boss@x.test" } });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe("role_exceeds_caller");
    expect(await snapshot(ws.id)).toEqual(before);
    expect(await outboxCount(ws, "former-boss@x.test")).toBe(0);
  });
});
