import { describe, expect, it } from "vitest";
import { startedChange } from "../credentials/helpers";
import { addMember, call, newIp, newWorkspace } from "../helpers";
import { csv, importCsv } from "../imports/helpers";
import { latestToken } from "../links";

/** Addresses mail systems deliver to that a narrow pattern refused. */
const APOSTROPHE = "o'brien@example.ie";
const PUNYCODE = "zoe@xn--nal-hoa.test";
/** `zoe@ünal.test` as DNS names its domain (the issue's `xn--nal-hoa` is `nüal`). */
const UNAL = "zoe@xn--nal-goa.test";
const NON_ASCII_LOCAL_PART =
  "Use an address with only ASCII letters, digits and symbols before the @: many mail systems cannot deliver to others.";

describe("addresses the world uses", () => {
  it("creates members with an apostrophe or a punycode domain, lowercased, and keeps each address unique", async () => {
    const ws = await newWorkspace();
    for (const email of [APOSTROPHE, PUNYCODE]) {
      const created = await call("POST", "/v1/members", { key: ws.key, body: { name: "Someone", email } });
      expect(created.status).toBe(201);
      expect(created.body.email).toBe(email);
    }
    const again = await call("POST", "/v1/members", {
      key: ws.key,
      body: { name: "Again", email: "O'Brien@Example.IE" },
    });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("duplicate");
  });

  it("stores an internationalized domain in its ASCII form, so both spellings are one address", async () => {
    const ws = await newWorkspace();
    const created = await call("POST", "/v1/members", { key: ws.key, body: { name: "Zoe", email: "Zoe@Ünal.test" } });
    expect(created.status).toBe(201);
    expect(created.body.email).toBe(UNAL);
    const same = await call("POST", "/v1/members", { key: ws.key, body: { name: "Zoe", email: UNAL } });
    expect(same.status).toBe(409);
    expect(same.body.error.code).toBe("duplicate");
  });

  it("refuses a local part beyond ASCII with a message that says why, and writes nothing", async () => {
    const ws = await newWorkspace();
    const refused = await call("POST", "/v1/members", { key: ws.key, body: { name: "Zoë", email: "zoë@ünal.test" } });
    expect(refused.status).toBe(422);
    expect(refused.body.error.issues).toEqual([{ path: "email", message: NON_ASCII_LOCAL_PART }]);
    const listed = await call("GET", `/v1/members?q=${encodeURIComponent("nal")}`, { key: ws.key });
    expect(listed.body.data).toEqual([]);
  });

  it("still refuses what is not an address, such as a URL after the @", async () => {
    const ws = await newWorkspace();
    for (const email of ["zoe@ünal.test/x", "zoe@", "o'brien", "a b@example.ie"]) {
      const res = await call("POST", "/v1/members", { key: ws.key, body: { name: "Nobody", email } });
      expect(res.status, email).toBe(422);
      expect(res.body.error.issues[0].path).toBe("email");
    }
  });

  it("changes a member's email to such an address through a confirmed credential change", async () => {
    const ws = await newWorkspace();
    const member = await addMember(ws, { email: "old@example.test" });
    for (const value of [APOSTROPHE, PUNYCODE]) {
      const { token } = await startedChange(ws, member.id, { kind: "email", value }, member.email);
      const confirmed = await call("POST", "/v1/credential-changes/confirm", { body: { token } });
      expect(confirmed.status).toBe(200);
      member.email = value;
      expect((await call("GET", `/v1/members/${member.id}`, { key: ws.key })).body.email).toBe(value);
    }
  });

  it("invites such addresses, and the invitee accepts", async () => {
    const ws = await newWorkspace();
    for (const email of [APOSTROPHE, PUNYCODE]) {
      const invited = await call("POST", "/v1/invitations", { key: ws.key, body: { email, role: "user" } });
      expect(invited.status).toBe(201);
      expect(invited.body.email).toBe(email);
      const accepted = await call("POST", "/v1/invitations/accept", { body: { token: await latestToken(ws, email) } });
      expect(accepted.status).toBe(200);
      expect(accepted.body.member.email).toBe(email);
    }
  });

  it("takes join requests from such addresses", async () => {
    const ws = await newWorkspace({ allowJoinRequests: true });
    for (const email of [APOSTROPHE, "zoe@ünal.test"]) {
      const sent = await call("POST", `/public/${ws.slug}/join-requests`, {
        body: { name: "Joiner", email },
        headers: { "CF-Connecting-IP": newIp() },
      });
      expect(sent.status).toBe(202);
    }
    const pending = await call("GET", "/v1/join-requests?status=pending", { key: ws.key });
    expect(pending.body.data.map((r: { email: string }) => r.email).sort()).toEqual([APOSTROPHE, UNAL]);
  });

  it("imports such addresses, matches the Unicode spelling to the stored member, and fails a non-ASCII local part", async () => {
    const ws = await newWorkspace();
    await addMember(ws, { email: UNAL, name: "Zoe" });
    const result = await importCsv(
      ws,
      csv("email,name", `"${APOSTROPHE}",Orla`, `${PUNYCODE},Zoe Nüal`, "zoe@ünal.test,Zoe Ünal", "zoë@ünal.test,Zoë"),
    );
    expect(result).toMatchObject({ created: 2, updated: 1, failed: 1 });
    expect(result.errors).toEqual([expect.objectContaining({ column: "email", message: NON_ASCII_LOCAL_PART })]);
    const listed = await call("GET", "/v1/members?limit=100", { key: ws.key });
    const byEmail = Object.fromEntries(listed.body.data.map((m: { email: string; name: string }) => [m.email, m.name]));
    expect(byEmail).toMatchObject({ [APOSTROPHE]: "Orla", [PUNYCODE]: "Zoe Nüal", [UNAL]: "Zoe Ünal" });
  });
});
