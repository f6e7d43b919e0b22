import { describe, expect, it } from "vitest";
import { rows, snapshot } from "../db";
import { addMember, addRole, call, keyForRole, newWorkspace } from "../helpers";
import { latestToken } from "../links";
import { confirmChange, startChange } from "./helpers";

describe("starting a credential change of a member who outranks the caller", () => {
  it("is refused (403 role_exceeds_caller) for the owner's email, starting and sending nothing", async () => {
    const ws = await newWorkspace();
    await addRole(ws, "support", ["members:read", "members:write"]);
    const { key } = await keyForRole(ws, "support");
    const owner = (await call("GET", `/v1/members/${ws.ownerId}`, { key: ws.key })).body;
    const before = await snapshot(ws.id);

    const res = await startChange(ws, ws.ownerId, { kind: "email", value: "attacker@evil.test" }, key);
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe("role_exceeds_caller");
    expect(await snapshot(ws.id)).toEqual(before);
    expect(await rows(ws.id, "select id from credential_changes where member_id = ?", ws.ownerId)).toEqual([]);
    const sent = await call("GET", `/v1/outbox?to=${encodeURIComponent(owner.email)}`, { key: ws.key });
    expect(sent.body.data).toEqual([]);
  });

  it("is refused for a phone change too, and for a key narrowed below the member's role", async () => {
    const ws = await newWorkspace();
    const member = await addMember(ws, { email: "lab@x.test", phone: "+14155550180", role: "user" });
    const narrow = await keyForRole(ws, "manager", ["members:write"]);
    const phone = await startChange(ws, member.id, { kind: "phone", value: "+14155550181" }, narrow.key);
    expect(phone.status).toBe(403);
    expect(phone.body.error.code).toBe("role_exceeds_caller");
    // The built-in user role holds labels:read: a key holding it as well may start the change.
    const enough = await keyForRole(ws, "manager", ["members:write", "labels:read"]);
    expect((await startChange(ws, member.id, { kind: "phone", value: "+14155550181" }, enough.key)).status).toBe(202);
  });

  it("still lets the caller change a member they outrank", async () => {
    const ws = await newWorkspace();
    await addRole(ws, "support", ["members:read", "members:write", "labels:read"]);
    const { key } = await keyForRole(ws, "support");
    const customer = await addMember(ws, { email: "cust@x.test" });
    const res = await startChange(ws, customer.id, { kind: "email", value: "cust2@x.test" }, key);
    expect(res.status).toBe(202);
    expect((await confirmChange(await latestToken(ws, "cust@x.test"))).status).toBe(200);
  });
});
