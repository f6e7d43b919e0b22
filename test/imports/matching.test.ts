import { describe, expect, it } from "vitest";
import { WINDOW_ROWS } from "../../worker/imports/chunk";
import { eventsOf, snapshot } from "../db";
import { addMember, addRole, call, newWorkspace } from "../helpers";
import { csv, importCsv } from "./helpers";

const memberEvents = async (workspaceId: string) =>
  (await eventsOf(workspaceId)).filter((e) => e.type === "member.created" || e.type === "member.updated");

describe("matching rows to members", () => {
  it("updates the member found by email, else external ID, else phone, and creates the rest with the import's role", async () => {
    const ws = await newWorkspace();
    await addRole(ws, "shopper", ["members:read"], "customer");
    const byEmail = await addMember(ws, { email: "e@example.com", name: "E", description: "keep me" });
    const byExternal = await addMember(ws, { externalId: "x-1", name: "X" });
    const byPhone = await addMember(ws, { phone: "+14155550123", name: "P", labels: ["old"] });
    const result = await importCsv(
      ws,
      csv(
        "email,external_id,phone,name,description,labels",
        "e@example.com,,,E Renamed,,",
        ",x-1,,,,gold",
        ",,+1 415 555 0123,,,new",
        "fresh@example.com,,,Fresh,,",
      ),
      { role: "shopper" },
    );
    expect(result).toMatchObject({ status: "completed", created: 1, updated: 3, unchanged: 0, failed: 0 });

    const get = async (id: string) => (await call("GET", `/v1/members/${id}`, { key: ws.key })).body;
    // Empty cells leave values alone; roles of existing members are not the import's business.
    expect(await get(byEmail.id)).toMatchObject({ name: "E Renamed", description: "keep me", role: "user" });
    expect(await get(byExternal.id)).toMatchObject({ name: "X", labels: ["gold"] });
    // Labels are added, never removed.
    expect(await get(byPhone.id)).toMatchObject({ email: null, labels: ["new", "old"] });
    const fresh = (await call("GET", "/v1/members?q=fresh@example.com&type=customer", { key: ws.key })).body.data;
    expect(fresh).toMatchObject([{ name: "Fresh", role: "shopper", type: "customer", status: "active" }]);
  });

  it("never gives an existing member an email or phone: that would hand their sign-in to the file's author", async () => {
    const ws = await newWorkspace();
    const target = await addMember(ws, { externalId: "ext-42", name: "Team Lead", role: "manager" });
    const result = await importCsv(
      ws,
      csv("external_id,email,phone", "ext-42,attacker@evil.test,", "ext-42,,+1 415 555 0199"),
    );
    expect(result).toMatchObject({ status: "completed", updated: 0, failed: 2 });
    expect(result.errors).toMatchObject([
      { row: 2, column: "email", value: "attacker@evil.test" },
      { row: 3, column: "phone" },
    ]);
    const after = (await call("GET", `/v1/members/${target.id}`, { key: ws.key })).body;
    expect(after).toMatchObject({ email: null, phone: null });
  });

  it("appends a member event per created or changed member, in file order, in the log's sequence", async () => {
    const ws = await newWorkspace();
    const existing = await addMember(ws, { email: "old@example.com", name: "Old" });
    const before = (await eventsOf(ws.id)).length;
    const imported = await importCsv(
      ws,
      csv("email,name", "n1@example.com,N1", "old@example.com,Older", "n2@example.com,N2"),
    );
    const log = await eventsOf(ws.id);
    const added = log.slice(before);
    expect(added.map((e) => e.type)).toEqual(["member.created", "member.updated", "member.created"]);
    expect(added.map((e) => (e.data as { member: { name: string } }).member.name)).toEqual(["N1", "Older", "N2"]);
    expect(added[1]).toMatchObject({ data: { member: { id: existing.id } } });
    expect(added.every((e) => (e.data as { importId: string }).importId === imported.id)).toBe(true);
    expect(log.map((e) => e.seq)).toEqual(log.map((_, i) => i + 1));
  });

  it("follows the update of a member it gave labels with member.labeled naming just those (what label actions run on)", async () => {
    const ws = await newWorkspace();
    const existing = await addMember(ws, { email: "old@example.com", labels: ["kept"] });
    const before = (await eventsOf(ws.id)).length;
    const imported = await importCsv(
      ws,
      csv("email,labels", '"old@example.com","kept,vip"', "old@example.com,gold", "new@example.com,vip"),
    );
    expect(imported).toMatchObject({ created: 1, updated: 2, failed: 0 }); // rows: the member twice
    const added = (await eventsOf(ws.id)).slice(before).filter((e) => e.type.startsWith("member."));
    expect(added).toMatchObject([
      { type: "member.updated", data: { member: { id: existing.id, labels: ["gold", "kept", "vip"] } } },
      {
        type: "member.labeled",
        data: { member: { id: existing.id }, labels: ["gold", "vip"], importId: imported.id },
      },
      { type: "member.created", data: { member: { email: "new@example.com" } } },
    ]);
    expect(added[0]?.data).not.toHaveProperty("labels");
  });

  it("changes nothing when the same file is imported again: no updates, no events", async () => {
    const ws = await newWorkspace();
    const file = csv(
      "email,phone,external_id,name,description,labels",
      'a@example.com,+14155550100,a-1,Ann,"Hi, there","vip,beta"',
      "b@example.com,,,Bob,,",
      ",,c-1,Cy,,gold",
      "bad,,,Nope,,",
    );
    const first = await importCsv(ws, file);
    expect(first).toMatchObject({ created: 3, updated: 0, failed: 1 });
    const before = await snapshot(ws.id);
    const second = await importCsv(ws, file);
    expect(second).toMatchObject({ status: "completed", created: 0, updated: 0, unchanged: 3, failed: 1 });
    expect(await snapshot(ws.id)).toEqual(before);
  });

  it("applies the same person twice in one file in order: the later row updates what the earlier created", async () => {
    const ws = await newWorkspace();
    const result = await importCsv(
      ws,
      csv(
        "email,phone,name,labels",
        "twice@example.com,,First,a",
        "twice@example.com,+14155550199,Second,b",
        "twice@example.com,,,",
      ),
    );
    expect(result).toMatchObject({ created: 1, updated: 1, unchanged: 1, failed: 0 });
    const found = (await call("GET", "/v1/members?q=twice@example.com", { key: ws.key })).body.data;
    expect(found).toMatchObject([{ name: "Second", phone: "+14155550199", labels: ["a", "b"] }]);
    // Both rows commit in one batch: watchers see the member once, as it ended up.
    const events = await memberEvents(ws.id);
    expect(events.filter((e) => e.type === "member.created")).toHaveLength(2); // the owner, and Second
    expect(events.at(-1)).toMatchObject({ data: { member: { name: "Second" } } });
  });

  it("applies the same person twice across chunks the same way", async () => {
    const ws = await newWorkspace();
    const lines = ["email,name"];
    const people = WINDOW_ROWS + 100;
    for (let i = 0; i < people; i++) lines.push(`p${i}@example.com,P ${i}`);
    lines.push("p0@example.com,P Zero");
    const before = (await memberEvents(ws.id)).length;
    const result = await importCsv(ws, csv(...lines));
    expect(result).toMatchObject({ status: "completed", total: people + 1, created: people, updated: 1, failed: 0 });
    const events = (await memberEvents(ws.id)).slice(before);
    expect(events).toHaveLength(people + 1);
    expect(events.at(-1)).toMatchObject({ type: "member.updated", data: { member: { name: "P Zero" } } });
  });

  it("refuses a row matching two members that earlier rows of the same file created", async () => {
    const ws = await newWorkspace();
    const result = await importCsv(
      ws,
      csv("email,phone", "one@example.com,", "two@example.com,+14155550142", "one@example.com,+14155550142"),
    );
    expect(result).toMatchObject({ created: 2, failed: 1 });
    expect(result.errors[0]).toMatchObject({ row: 4, column: "phone", value: "+14155550142" });
  });
});
