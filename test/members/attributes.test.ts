import { describe, expect, it } from "vitest";
import { eventsOf, snapshot } from "../db";
import { addMember, addRole, call, keyForRole, newWorkspace } from "../helpers";
import { openLive, waitFor } from "../live/sockets";

const ids = (list: { id: string }[]) => list.map((m) => m.id);

describe("custom attributes of members", () => {
  it("are set when a member is added, shown in its JSON and in member.created", async () => {
    const ws = await newWorkspace();
    const attributes = { plan: "pro", seats: 12, trial: false };
    const res = await call("POST", "/v1/members", {
      key: ws.key,
      body: { name: "Ada", email: "ada@x.test", attributes },
    });
    expect(res.status).toBe(201);
    expect(res.body.attributes).toEqual(attributes);
    expect((await call("GET", `/v1/members/${res.body.id}`, { key: ws.key })).body.attributes).toEqual(attributes);
    expect((await call("GET", "/v1/members", { key: ws.key })).body.data).toContainEqual(res.body);
    expect((await eventsOf(ws.id)).at(-1)).toMatchObject({ type: "member.created", data: { member: { attributes } } });
  });

  it("are an empty object for a member without any", async () => {
    const ws = await newWorkspace();
    const member = await addMember(ws, { email: "none@x.test" });
    expect(member.attributes).toEqual({});
  });

  it("merge on edit: a value sets a key, null deletes one, keys not named stay", async () => {
    const ws = await newWorkspace();
    const member = await addMember(ws, { email: "m@x.test", attributes: { plan: "free", seats: 1, vip: true } });
    const res = await call("PATCH", `/v1/members/${member.id}`, {
      key: ws.key,
      body: { attributes: { plan: "pro", seats: null, region: "eu" } },
    });
    expect(res.status).toBe(200);
    expect(res.body.attributes).toEqual({ plan: "pro", vip: true, region: "eu" });
    expect((await eventsOf(ws.id)).at(-1)).toMatchObject({
      type: "member.updated",
      data: { member: { attributes: { plan: "pro", vip: true, region: "eu" } } },
    });
    const cleared = await call("PATCH", `/v1/members/${member.id}`, { key: ws.key, body: { attributes: null } });
    expect(cleared.body.attributes).toEqual({});
  });

  it("refuses bad keys, bad values and too many or too large attributes with 422, writing nothing", async () => {
    const ws = await newWorkspace();
    const member = await addMember(ws, { email: "limit@x.test", attributes: { a: "1" } });
    const before = await snapshot(ws.id);
    const fifty = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, i]));
    const cases: [string, unknown][] = [
      ["Plan", "x"],
      ["1st", "x"],
      ["a".repeat(41), "x"],
      ["nested", { a: 1 }],
      ["list", [1]],
    ];
    for (const [key, value] of cases) {
      const created = await call("POST", "/v1/members", {
        key: ws.key,
        body: { name: "B", email: "b@x.test", attributes: { [key]: value } },
      });
      expect(created.status, key).toBe(422);
      expect(created.body.error.code).toBe("validation_failed");
      const patched = await call("PATCH", `/v1/members/${member.id}`, {
        key: ws.key,
        body: { attributes: { [key]: value } },
      });
      expect(patched.status, key).toBe(422);
    }
    const tooMany = await call("POST", "/v1/members", {
      key: ws.key,
      body: { name: "B", email: "b@x.test", attributes: { ...fifty, k50: 1 } },
    });
    expect(tooMany.status).toBe(422);
    expect(tooMany.body.error.issues[0]).toMatchObject({ path: "attributes" });
    const tooLarge = await call("POST", "/v1/members", {
      key: ws.key,
      body: { name: "B", email: "b@x.test", attributes: { a: "x".repeat(2100), b: "é".repeat(1000) } },
    });
    expect(tooLarge.status).toBe(422);
    // The member holds one already: 50 more by a merge would make 51.
    const mergedTooMany = await call("PATCH", `/v1/members/${member.id}`, { key: ws.key, body: { attributes: fifty } });
    expect(mergedTooMany.status).toBe(422);
    expect(mergedTooMany.body.error.issues[0].path).toBe("attributes");
    expect(await snapshot(ws.id)).toEqual(before);
    // Fifty is the limit: replacing the one held by deleting it fits.
    const fits = await call("PATCH", `/v1/members/${member.id}`, {
      key: ws.key,
      body: { attributes: { ...fifty, a: null } },
    });
    expect(fits.status).toBe(200);
    expect(Object.keys(fits.body.attributes)).toHaveLength(50);
  });

  it("let a role's condition on an attribute hide the members it does not hold for, in lists and reads", async () => {
    const ws = await newWorkspace();
    await addRole(ws, "eu-desk", ["members:read"], "team", `member.attributes.region == "eu"`);
    const desk = await keyForRole(ws, "eu-desk");
    const eu = await addMember(ws, { email: "eu@x.test", attributes: { region: "eu" } });
    const us = await addMember(ws, { email: "us@x.test", attributes: { region: "us" } });
    const none = await addMember(ws, { email: "none@x.test" });
    const listed = ids((await call("GET", "/v1/members?limit=100", { key: desk.key })).body.data);
    expect(listed).toContain(eu.id);
    expect(listed).not.toContain(us.id);
    expect(listed).not.toContain(none.id);
    expect((await call("GET", `/v1/members/${us.id}`, { key: desk.key })).status).toBe(404);
    expect((await call("GET", `/v1/members/${eu.id}`, { key: desk.key })).status).toBe(200);
    // Moved out of the region, the member is out of reach.
    await call("PATCH", `/v1/members/${eu.id}`, { key: ws.key, body: { attributes: { region: "us" } } });
    expect((await call("GET", `/v1/members/${eu.id}`, { key: desk.key })).status).toBe(404);
  });

  it("compare by type and by order in conditions: numbers, booleans and strings", async () => {
    const ws = await newWorkspace();
    await addRole(
      ws,
      "big",
      ["members:read"],
      "team",
      `member.attributes.seats >= 10 && member.attributes.paid == true`,
    );
    const desk = await keyForRole(ws, "big");
    const big = await addMember(ws, { email: "big@x.test", attributes: { seats: 25, paid: true } });
    const small = await addMember(ws, { email: "small@x.test", attributes: { seats: 2, paid: true } });
    const unpaid = await addMember(ws, { email: "unpaid@x.test", attributes: { seats: 50, paid: false } });
    const text = await addMember(ws, { email: "text@x.test", attributes: { seats: "99", paid: "true" } });
    const listed = ids((await call("GET", "/v1/members?limit=100", { key: desk.key })).body.data);
    expect(listed).toContain(big.id);
    for (const hidden of [small, unpaid, text]) expect(listed).not.toContain(hidden.id);
    expect((await call("GET", `/v1/members/${text.id}`, { key: desk.key })).status).toBe(404);
  });

  it("travel in member events on the live stream, which a condition on an attribute filters", async () => {
    const ws = await newWorkspace();
    await addRole(ws, "eu-desk", ["members:read"], "team", `member.attributes.region == "eu"`);
    const desk = await keyForRole(ws, "eu-desk");
    const owner = await openLive({ key: ws.key });
    const watcher = await openLive({ key: desk.key });
    const eu = await addMember(ws, { email: "eu@x.test", attributes: { region: "eu" } });
    const us = await addMember(ws, { email: "us@x.test", attributes: { region: "us" } });
    await call("PATCH", `/v1/members/${eu.id}`, { key: ws.key, body: { attributes: { tier: 2 } } });
    const memberEvents = (messages: unknown[]) =>
      messages.filter(
        (m): m is { type: string; data: { member: { id: string; attributes: unknown } } } =>
          typeof m === "object" && m !== null && "seq" in m && "data" in m,
      );
    await waitFor("the update", () =>
      memberEvents(owner.messages).some((e) => e.type === "member.updated" && e.data.member.id === eu.id),
    );
    await waitFor("the update for the desk", () =>
      memberEvents(watcher.messages).some((e) => e.type === "member.updated"),
    );
    const created = memberEvents(owner.messages).find((e) => e.type === "member.created" && e.data.member.id === eu.id);
    expect(created?.data.member.attributes).toEqual({ region: "eu" });
    const updated = memberEvents(watcher.messages).find((e) => e.type === "member.updated");
    expect(updated?.data.member.attributes).toEqual({ region: "eu", tier: 2 });
    const seenByDesk = memberEvents(watcher.messages).map((e) => e.data.member.id);
    expect(seenByDesk).toContain(eu.id);
    expect(seenByDesk).not.toContain(us.id);
    owner.ws.close();
    watcher.ws.close();
  });
});
