import { describe, expect, it } from "vitest";
import { createAction, eventually } from "../actions/helpers";
import { addMember, addRole, call, keyForRole, newWorkspace, type Workspace } from "../helpers";

type Message = { to: string; text: string; linksRemoved: boolean };

const outbox = async (key: string, to: string) => {
  const res = await call("GET", `/v1/outbox?to=${encodeURIComponent(to)}`, { key });
  expect(res.status).toBe(200);
  return res.body.data as Message[];
};

const signInLink = (ws: Workspace, email: string) =>
  call("POST", "/v1/auth/login", { body: { workspace: ws.slug, email } });

describe("the outbox's messages to a member who outranks the caller", () => {
  it("reach a role with only workspace:admin without the owner's sign-in link or token", async () => {
    const ws = await newWorkspace();
    await addRole(ws, "it-admin", ["workspace:admin"]);
    const { key } = await keyForRole(ws, "it-admin");
    const owner = (await call("GET", `/v1/members/${ws.ownerId}`, { key: ws.key })).body;
    expect((await signInLink(ws, owner.email)).status).toBe(202);

    const [seen] = await outbox(key, owner.email);
    expect(seen?.text).not.toMatch(/https?:|token|lms_/);
    expect(seen?.text).toContain("[link removed]");
    expect(seen).toMatchObject({ to: owner.email, linksRemoved: true });
    // The rest of the message is left as it was.
    expect(seen?.text).toContain("Sign in with this link");

    const [whole] = await outbox(ws.key, owner.email);
    expect(whole?.text).toMatch(/\/sign-in#token=lms_[0-9A-Z]{26}\.[\w-]{43}/);
    expect(whole?.linksRemoved).toBe(false);
  });

  it("reach a caller who holds every scope of the recipient's role whole", async () => {
    const ws = await newWorkspace();
    await addRole(ws, "desk-admin", ["workspace:admin", "members:read", "labels:read"]);
    const { key } = await keyForRole(ws, "desk-admin");
    const customer = await addMember(ws, { email: "cust@x.test", role: "user" });
    const owner = (await call("GET", `/v1/members/${ws.ownerId}`, { key: ws.key })).body;
    for (const email of [customer.email, owner.email]) expect((await signInLink(ws, email)).status).toBe(202);

    const [owners] = await outbox(key, owner.email);
    expect(owners?.text).not.toContain("lms_");
    expect(owners).toMatchObject({ linksRemoved: true });
    const [customers] = await outbox(key, customer.email);
    expect(customers).toMatchObject({ linksRemoved: false, text: expect.stringMatching(/#token=lms_/) });
    // The list without ?to= judges each message the same way.
    const listed = (await call("GET", "/v1/outbox", { key })).body.data as Message[];
    expect(listed.find((m) => m.to === owner.email)?.text).not.toContain("lms_");
    expect(listed.find((m) => m.to === customer.email)?.text).toContain("lms_");
  });

  it("keeps judging by the member a message was for after its address changed hands", async () => {
    const ws = await newWorkspace();
    await addRole(ws, "desk-admin", ["workspace:admin", "members:admin", "labels:read"]);
    const { key } = await keyForRole(ws, "desk-admin");
    const boss = await addMember(ws, { email: "boss@x.test", role: "manager" });
    expect((await signInLink(ws, "boss@x.test")).status).toBe(202);
    // The boss's email changes, and a customer then takes the old address.
    const started = await call("POST", `/v1/members/${boss.id}/credential-changes`, {
      key: ws.key,
      body: { kind: "email", value: "boss@y.test" },
    });
    expect(started.status).toBe(202);
    const link = (await outbox(ws.key, "boss@x.test")).find((m) => m.text.includes("/credential-change#token="));
    const token = /#token=([\w.-]+)/.exec(link?.text ?? "")?.[1];
    expect((await call("POST", "/v1/credential-changes/confirm", { body: { token } })).status).toBe(200);
    await addMember(ws, { email: "boss@x.test", role: "user" });

    const messages = await outbox(key, "boss@x.test");
    expect(messages.length).toBeGreaterThanOrEqual(2);
    for (const message of messages) expect(message.text).not.toMatch(/lm[sx]_/);
  });
});

describe("the outbox's messages to no member", () => {
  it("keep their links only for a caller holding every scope", async () => {
    const ws = await newWorkspace({ allowJoinRequests: true });
    await createAction(ws, {
      name: "Welcome",
      trigger: "join_request.created",
      action: { type: "email", text: "Thanks! Read https://example.test/next-steps?ref=abc before we reply." },
    });
    await addRole(ws, "desk-admin", ["workspace:admin", "members:admin", "labels:admin", "join_requests:admin"]);
    const { key } = await keyForRole(ws, "desk-admin");
    const joined = await call("POST", `/public/${ws.slug}/join-requests`, {
      body: { name: "Visitor", email: "visitor@x.test" },
    });
    expect(joined.status).toBe(202);
    await eventually("the email", async () => (await outbox(ws.key, "visitor@x.test")).length === 1);

    const [seen] = await outbox(key, "visitor@x.test");
    expect(seen).toMatchObject({ text: "Thanks! Read [link removed] before we reply.", linksRemoved: true });
    const [whole] = await outbox(ws.key, "visitor@x.test");
    expect(whole).toMatchObject({
      text: expect.stringContaining("https://example.test/next-steps"),
      linksRemoved: false,
    });
  });
});
