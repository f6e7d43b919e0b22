import { describe, expect, it } from "vitest";
import { addMember, call, newWorkspace } from "../helpers";

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
});
