import { describe, expect, it } from "vitest";
import { rows, snapshot } from "../db";
import { addMember, call, newWorkspace, type Workspace } from "../helpers";
import { latestToken } from "../links";

const outbox = async (ws: Workspace, to: string) =>
  (await call("GET", `/v1/outbox?to=${encodeURIComponent(to)}`, { key: ws.key })).body.data as unknown[];

async function archived(ws: Workspace, body: Record<string, unknown>) {
  const member = await addMember(ws, body);
  expect((await call("POST", `/v1/members/${member.id}/archive`, { key: ws.key })).status).toBe(200);
  return member;
}

describe("an invitation naming an archived member's phone with another email", () => {
  it("is refused (409 identifier_conflict, naming the member): nothing is written or sent", async () => {
    const ws = await newWorkspace();
    const member = await archived(ws, { name: "Ann", email: "ann@x.test", phone: "+14155550190" });
    const before = await snapshot(ws.id);

    const res = await call("POST", "/v1/invitations", {
      key: ws.key,
      body: { email: "stranger@x.test", phone: "+1 415 555 0190" },
    });
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({ code: "identifier_conflict", existingId: member.id });
    expect(res.body.error.message).toEqual(expect.any(String));
    expect(await snapshot(ws.id)).toEqual(before);
    expect(await rows(ws.id, "select id from invitations where member_id = ?", member.id)).toEqual([]);
    expect(await outbox(ws, "stranger@x.test")).toEqual([]);
    const still = await call("GET", `/v1/members/${member.id}`, { key: ws.key });
    expect(still.body).toMatchObject({ status: "archived", email: "ann@x.test" });
  });

  it("is refused as well when the archived member has no email at all", async () => {
    const ws = await newWorkspace();
    const member = await archived(ws, { phone: "+14155550191" });
    const res = await call("POST", "/v1/invitations", {
      key: ws.key,
      body: { email: "someone@x.test", phone: "+14155550191" },
    });
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({ code: "identifier_conflict", existingId: member.id });
    expect(await outbox(ws, "someone@x.test")).toEqual([]);
  });

  it("still re-invites an archived member by their own email and phone, or by their phone alone", async () => {
    const ws = await newWorkspace();
    const both = await archived(ws, { email: "back@x.test", phone: "+14155550192" });
    const again = await call("POST", "/v1/invitations", {
      key: ws.key,
      body: { email: "back@x.test", phone: "+14155550192" },
    });
    expect(again.status).toBe(201);
    expect(again.body.memberId).toBe(both.id);
    expect(await latestToken(ws, "back@x.test")).toMatch(/^lmi_/);

    const phoneOnly = await archived(ws, { email: "texts@x.test", phone: "+14155550193" });
    const byPhone = await call("POST", "/v1/invitations", { key: ws.key, body: { phone: "+14155550193" } });
    expect(byPhone.status).toBe(201);
    expect(byPhone.body).toMatchObject({ memberId: phoneOnly.id, channel: "sms" });
  });
});
