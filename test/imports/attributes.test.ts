import { describe, expect, it } from "vitest";
import { eventsOf, snapshot } from "../db";
import { addMember, call, newWorkspace } from "../helpers";
import { csv, importCsv, postCsv, waitForImport } from "./helpers";

const byEmail = async (key: string, email: string) =>
  (await call("GET", `/v1/members?q=${encodeURIComponent(email)}`, { key })).body.data[0];

describe("imports of custom attributes (columns attributes.<key>)", () => {
  it("sets attributes on new members, typed from the cells, and in member.created", async () => {
    const ws = await newWorkspace();
    const done = await importCsv(
      ws,
      csv(
        "email,name,attributes.plan,attributes.seats,attributes.paid,attributes.code",
        'ann@x.test,Ann,pro,12,true,"""007"""',
        "bob@x.test,Bob,,,,",
      ),
    );
    expect(done).toMatchObject({ created: 2, failed: 0 });
    const ann = await byEmail(ws.key, "ann@x.test");
    expect(ann.attributes).toEqual({ plan: "pro", seats: 12, paid: true, code: "007" });
    expect((await byEmail(ws.key, "bob@x.test")).attributes).toEqual({});
    const created = (await eventsOf(ws.id)).find(
      (e) => e.type === "member.created" && (e.data as { member: { id: string } }).member.id === ann.id,
    );
    expect(created?.data).toMatchObject({ member: { attributes: { plan: "pro", seats: 12 } } });
  });

  it("merges attributes into a matched member: cells given set keys, empty cells keep theirs", async () => {
    const ws = await newWorkspace();
    const member = await addMember(ws, { email: "m@x.test", attributes: { plan: "free", region: "eu" } });
    const done = await importCsv(ws, csv("email,attributes.plan,attributes.region,attributes.tier", "m@x.test,pro,,3"));
    expect(done).toMatchObject({ updated: 1, failed: 0 });
    const after = (await call("GET", `/v1/members/${member.id}`, { key: ws.key })).body;
    expect(after.attributes).toEqual({ plan: "pro", region: "eu", tier: 3 });
    expect((await eventsOf(ws.id)).at(-1)).toMatchObject({
      type: "member.updated",
      data: { member: { attributes: { plan: "pro", region: "eu", tier: 3 } } },
    });
  });

  it("refuses a header naming an invalid attribute key, or too many, with 422 and keeps nothing", async () => {
    const ws = await newWorkspace();
    const before = await snapshot(ws.id);
    const bad = await postCsv(ws, csv("email,attributes.Plan", "a@x.test,pro"));
    expect(bad.status).toBe(422);
    expect(bad.body.error.code).toBe("invalid_csv");
    const keys = Array.from({ length: 51 }, (_, i) => `attributes.k${i}`);
    const many = await postCsv(ws, csv(`email,${keys.join(",")}`, `a@x.test,${keys.map(() => "1").join(",")}`));
    expect(many.status).toBe(422);
    const twice = await postCsv(ws, csv("email,attributes.a,attributes.a", "a@x.test,1,2"));
    expect(twice.status).toBe(422);
    expect(await snapshot(ws.id)).toEqual(before);
  });

  it("fails a row whose attributes would pass the limits, naming the column, and imports the others", async () => {
    const ws = await newWorkspace();
    const holder = await addMember(ws, {
      email: "full@x.test",
      attributes: Object.fromEntries(Array.from({ length: 49 }, (_, i) => [`k${i}`, i])),
    });
    const done = await importCsv(
      ws,
      csv(
        "email,attributes.big,attributes.extra1,attributes.extra2",
        `big@x.test,${"x".repeat(4100)},,`,
        "full@x.test,,a,b",
        "ok@x.test,small,,",
      ),
    );
    expect(done).toMatchObject({ created: 1, failed: 2 });
    const errors = await call("GET", `/v1/imports/${done.id}/errors.csv`, { key: ws.key });
    expect(errors.body).toContain("attributes: At most 4096 bytes");
    expect(errors.body).toContain("attributes: At most 50 attributes");
    expect((await call("GET", `/v1/members/${holder.id}`, { key: ws.key })).body.attributes).not.toHaveProperty(
      "extra1",
    );
    expect(await byEmail(ws.key, "big@x.test")).toBeUndefined();
    expect((await byEmail(ws.key, "ok@x.test")).attributes).toEqual({ big: "small" });
  });

  it("takes attributes from a JSON import's members too, typed as they are", async () => {
    const ws = await newWorkspace();
    const res = await call("POST", "/v1/imports", {
      key: ws.key,
      body: {
        members: [
          { email: "j1@x.test", attributes: { plan: "pro", seats: 5, code: "42", paid: true } },
          { email: "j2@x.test", attributes: { region: "eu" } },
          { email: "j3@x.test", attributes: { Bad: 1 } },
        ],
      },
    });
    // A key the API refuses names a column the import refuses: nothing is kept.
    expect(res.status).toBe(422);
    const ok = await call("POST", "/v1/imports", {
      key: ws.key,
      body: {
        members: [
          { email: "j1@x.test", attributes: { plan: "pro", seats: 5, code: "42", paid: true } },
          { email: "j2@x.test", attributes: { region: "eu" } },
        ],
      },
    });
    expect(ok.status).toBe(202);
    expect(await waitForImport(ws, ok.body.id)).toMatchObject({ created: 2, failed: 0, warnings: [] });
    expect((await byEmail(ws.key, "j1@x.test")).attributes).toEqual({ plan: "pro", seats: 5, code: "42", paid: true });
    expect((await byEmail(ws.key, "j2@x.test")).attributes).toEqual({ region: "eu" });
  });
});
