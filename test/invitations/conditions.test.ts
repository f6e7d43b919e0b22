import { describe, expect, it } from "vitest";
import { eventsOf } from "../db";
import { addMember, call, keyForRole, newWorkspace, walkPages } from "../helpers";

const ACME_ONLY = `member.email.endsWith("@acme.test")`;
const SCOPES = ["members:write", "labels:read", "invitations:write"];

/** A workspace with an "acme" role that reaches only @acme.test members, and an agent holding it. */
async function acmeWorkspace(condition = ACME_ONLY) {
  const ws = await newWorkspace();
  const role = await call("POST", "/v1/roles", {
    key: ws.key,
    body: { key: "acme", name: "Acme desk", type: "team", scopes: SCOPES, condition },
  });
  expect(role.status).toBe(201);
  const agent = (await keyForRole(ws, "acme")).key;
  return { ws, agent };
}

/** Into the agent's own role: a conditioned caller assigns only roles with its condition (worker/roles). */
const invite = (key: string, email: string) => call("POST", "/v1/invitations", { key, body: { email, role: "acme" } });

function expectRefused(res: { status: number; body: { error: { code: string; existingId?: string } } }) {
  expect(res.status).toBe(403);
  expect(res.body.error.code).toBe("forbidden_by_condition");
  expect(res.body.error.existingId).toBeUndefined();
}

describe("invitations under a role condition", () => {
  it("invites people the condition reaches and refuses, writing nothing, those it would not", async () => {
    const { ws, agent } = await acmeWorkspace();
    expect((await invite(agent, "ann@acme.test")).status).toBe(201);
    const before = await eventsOf(ws.id);
    expectRefused(await invite(agent, "bob@other.test"));
    expect(await eventsOf(ws.id)).toEqual(before);
    const invited = await walkPages(ws.key, "/v1/members?status=invited");
    expect(invited.map((m) => m.email)).toEqual(["ann@acme.test"]);
    const outbox = await call("GET", "/v1/outbox?to=bob@other.test", { key: ws.key });
    expect(outbox.body.data).toEqual([]);
  });

  it("refuses to re-invite an archived member out of its reach, naming nobody", async () => {
    const { ws, agent } = await acmeWorkspace();
    const hidden = await addMember(ws, { email: "gone@other.test" });
    const seen = await addMember(ws, { email: "gone@acme.test" });
    for (const m of [hidden, seen]) await call("POST", `/v1/members/${m.id}/archive`, { key: ws.key });
    expectRefused(await invite(agent, "gone@other.test"));
    expect((await call("GET", `/v1/members/${hidden.id}`, { key: ws.key })).body.status).toBe("archived");
    const back = await invite(agent, "gone@acme.test");
    expect(back.status).toBe(201);
    expect(back.body.memberId).toBe(seen.id);
    // An active member out of reach is refused the same way, without its id.
    await addMember(ws, { email: "active@other.test" });
    expectRefused(await invite(agent, "active@other.test"));
  });

  it("answers 404 for reading, resending or revoking an invitation whose invitee it cannot see", async () => {
    const { ws, agent } = await acmeWorkspace();
    const hidden = (await invite(ws.key, "hid@other.test")).body;
    const before = await eventsOf(ws.id);
    const attempts = await Promise.all([
      call("GET", `/v1/invitations/${hidden.id}`, { key: agent }),
      call("POST", `/v1/invitations/${hidden.id}/resend`, { key: agent }),
      call("POST", `/v1/invitations/${hidden.id}/revoke`, { key: agent }),
    ]);
    for (const res of attempts) {
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe("not_found");
    }
    expect(await eventsOf(ws.id)).toEqual(before);
    const after = await call("GET", `/v1/invitations/${hidden.id}`, { key: ws.key });
    expect(after.body).toMatchObject({ status: "pending", sentAt: hidden.sentAt });

    const seen = (await invite(ws.key, "seen@acme.test")).body;
    expect((await call("GET", `/v1/invitations/${seen.id}`, { key: agent })).status).toBe(200);
    expect((await call("POST", `/v1/invitations/${seen.id}/resend`, { key: agent })).status).toBe(200);
    const revoked = await call("POST", `/v1/invitations/${seen.id}/revoke`, { key: agent });
    expect(revoked.status).toBe(200);
    expect(revoked.body.status).toBe("revoked");
  });

  it("lists only invitations of members it reaches, filtered in the query: full pages", async () => {
    const { ws, agent } = await acmeWorkspace();
    const seen: string[] = [];
    for (let i = 0; i < 8; i++) {
      const email = i % 3 === 0 ? `s${i}@acme.test` : `h${i}@other.test`;
      const created = (await invite(ws.key, email)).body;
      if (email.endsWith("@acme.test")) seen.unshift(created.id);
    }
    const first = await call("GET", "/v1/invitations?limit=2", { key: agent });
    expect(first.body.data).toHaveLength(2);
    expect(first.body.nextCursor).not.toBeNull();
    const walked = await walkPages(agent, "/v1/invitations?limit=2");
    expect(walked.map((i) => i.id)).toEqual(seen);
    const pending = await walkPages(agent, "/v1/invitations?status=pending&limit=1");
    expect(pending.map((i) => i.id)).toEqual(seen);
    expect(await walkPages(ws.key, "/v1/invitations?limit=100")).toHaveLength(8);
  });

  it("refuses a revoke whose archiving would take the invitee out of its reach", async () => {
    const { ws, agent } = await acmeWorkspace(`member.status != "archived"`);
    const sent = (await invite(ws.key, "x@acme.test")).body;
    expectRefused(await call("POST", `/v1/invitations/${sent.id}/revoke`, { key: agent }));
    const after = await call("GET", `/v1/invitations/${sent.id}`, { key: ws.key });
    expect(after.body.status).toBe("pending");
    expect((await call("GET", `/v1/members/${sent.memberId}`, { key: ws.key })).body.status).toBe("invited");
  });
});
