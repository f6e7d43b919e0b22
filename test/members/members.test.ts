import { describe, expect, it } from "vitest";
import { eventsOf } from "../db";
import { addMember, addRole, call, newWorkspace } from "../helpers";

describe("members", () => {
  it("adds a member with a lowercased email and an E.164 phone, typed by their role", async () => {
    const ws = await newWorkspace();
    const res = await call("POST", "/v1/members", {
      key: ws.key,
      body: {
        name: "Ada Lovelace",
        email: "Ada@Example.COM",
        phone: "+44 20 7946 0958",
        role: "manager",
        labels: ["vip"],
      },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      name: "Ada Lovelace",
      email: "ada@example.com",
      phone: "+442079460958",
      role: "manager",
      type: "team",
      labels: ["vip"],
      status: "active",
      externalId: null,
    });
    const got = await call("GET", `/v1/members/${res.body.id}`, { key: ws.key });
    expect(got.body).toEqual(res.body);
  });

  it("refuses a duplicate email, phone or external ID with 409 and the existing id", async () => {
    const ws = await newWorkspace();
    const first = await addMember(ws, { email: "a@x.test", phone: "+14155550100", externalId: "crm-1" });
    for (const body of [{ email: "A@x.test" }, { phone: "+1 415 555 0100" }, { externalId: "crm-1" }]) {
      const res = await call("POST", "/v1/members", { key: ws.key, body: { name: "Dup", ...body } });
      expect(res.status).toBe(409);
      expect(res.body.error).toMatchObject({ code: "duplicate", existingId: first.id });
    }
  });

  it("lists with filters and keyset pages", async () => {
    const ws = await newWorkspace();
    for (let i = 0; i < 5; i++) await addMember(ws, { email: `m${i}@x.test`, labels: i % 2 ? ["odd"] : [] });
    const page1 = await call("GET", "/v1/members?limit=2&label=odd", { key: ws.key });
    expect(page1.status).toBe(200);
    expect(page1.body.data).toHaveLength(2);
    const all = await call("GET", "/v1/members?limit=100", { key: ws.key });
    expect(all.body.data).toHaveLength(6);
    const search = await call("GET", "/v1/members?q=m3", { key: ws.key });
    expect(search.body.data.map((m: { email: string }) => m.email)).toEqual(["m3@x.test"]);
  });

  it("adds a customer with the default role user when no role is given", async () => {
    const ws = await newWorkspace();
    const res = await call("POST", "/v1/members", {
      key: ws.key,
      body: { name: "Cleo Customer", phone: "+14155550111" },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ role: "user", type: "customer", email: null, phone: "+14155550111" });
  });

  it("gives a member of a custom team role the type team", async () => {
    const ws = await newWorkspace();
    await addRole(ws, "agent", ["members:write"]);
    const member = await addMember(ws, { externalId: "crm-7", role: "agent" });
    expect(member).toMatchObject({ role: "agent", type: "team", externalId: "crm-7", email: null, phone: null });
  });

  it("answers 422 when a member has none of email, phone and external ID", async () => {
    const ws = await newWorkspace();
    const res = await call("POST", "/v1/members", { key: ws.key, body: { name: "Nobody" } });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe("validation_failed");
  });

  it.each([
    ["an invalid email", { email: "not-an-email" }, "email"],
    ["an invalid phone", { phone: "12" }, "phone"],
    ["a too long name", { email: "a@b.test", name: "x".repeat(201) }, "name"],
    ["an empty name", { email: "a@b.test", name: "   " }, "name"],
    ["a label that is not a slug", { email: "a@b.test", labels: ["Not A Slug"] }, "labels.0"],
    ["an unknown field", { email: "a@b.test", nickname: "Al" }, "nickname"],
    ["an unknown role", { email: "a@b.test", role: "wizard" }, "role"],
  ])("answers 422 naming the field for %s", async (_, body, path) => {
    const ws = await newWorkspace();
    const res = await call("POST", "/v1/members", { key: ws.key, body: { name: "Al", ...body } });
    expect(res.status).toBe(422);
    expect(res.body.error).toMatchObject({ code: "validation_failed", message: expect.any(String) });
    expect(res.body.error.issues.map((i: { path: string }) => i.path)).toContain(path);
  });

  it("gets a member by id, and answers 404 not_found for an unknown id", async () => {
    const ws = await newWorkspace();
    const member = await addMember(ws, { email: "get@x.test" });
    const got = await call("GET", `/v1/members/${member.id}`, { key: ws.key });
    expect(got.status).toBe(200);
    expect(got.body).toEqual(member);
    const missing = await call("GET", "/v1/members/mem_DOESNOTEXIST", { key: ws.key });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe("not_found");
  });

  it("answers 401 without a key and with an unknown key", async () => {
    const ws = await newWorkspace();
    for (const key of [undefined, "lmk_unknown"]) {
      const res = await call("GET", `/v1/members/${ws.ownerId}`, { key });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe("unauthorized");
    }
  });

  it("records member.created with the member as committed", async () => {
    const ws = await newWorkspace();
    const member = await addMember(ws, { email: "event@x.test", labels: ["vip"] });
    const events = await eventsOf(ws.id);
    expect(events.at(-1)).toMatchObject({ type: "member.created", data: { member } });
  });
});
