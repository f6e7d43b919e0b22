import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { addMember, addRole, call, keyForRole, newWorkspace } from "../helpers";
import { importCsv } from "../imports/helpers";

const worker = (exports as unknown as { default: Fetcher }).default;

/** The export as its raw text (NDJSON and CSV are not one JSON document). */
async function exported(caller: { key: string }, query: string) {
  const res = await worker.fetch(`http://localhost/v1/members/export?${query}`, {
    headers: { Authorization: `Bearer ${caller.key}` },
  });
  const body = await res.text();
  return { status: res.status, headers: res.headers, body, json: () => JSON.parse(body) };
}

const ndjson = (text: string) =>
  text
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line));

/** A member's JSON as another workspace holds it: what an import carries over. */
const portable = (m: Record<string, unknown>) => ({
  name: m.name,
  email: m.email,
  phone: m.phone,
  externalId: m.externalId,
  description: m.description,
  labels: m.labels,
  role: m.role,
  attributes: m.attributes,
});

describe("GET /v1/members/export", () => {
  it("streams every matching member as NDJSON, with the list's filters", async () => {
    const ws = await newWorkspace();
    const vip = await addMember(ws, { email: "vip@x.test", labels: ["vip"], attributes: { tier: 1 } });
    const other = await addMember(ws, { email: "other@x.test" });
    const archived = await addMember(ws, { email: "gone@x.test", labels: ["vip"] });
    await call("POST", `/v1/members/${archived.id}/archive`, { key: ws.key });
    const all = await exported(ws, "format=ndjson");
    expect(all.status).toBe(200);
    expect(all.headers.get("Content-Type")).toBe("application/x-ndjson");
    const listed = (await call("GET", "/v1/members?limit=100", { key: ws.key })).body.data;
    expect(ndjson(all.body)).toEqual(listed);
    expect(ndjson(all.body).map((m) => m.id)).toEqual(expect.arrayContaining([vip.id, other.id]));
    expect(ndjson((await exported(ws, "format=ndjson&label=vip")).body).map((m) => m.id)).toEqual([vip.id]);
    expect(ndjson((await exported(ws, "format=ndjson&status=archived")).body).map((m) => m.id)).toEqual([archived.id]);
    expect(ndjson((await exported(ws, "format=ndjson&q=other")).body).map((m) => m.id)).toEqual([other.id]);
    expect(ndjson((await exported(ws, "format=ndjson&role=user&type=customer")).body)).toHaveLength(2);
  });

  it("streams CSV in the import's columns, then one column per attribute key", async () => {
    const ws = await newWorkspace();
    await addMember(ws, {
      name: "Ann Lee",
      email: "ann@x.test",
      phone: "+14155550100",
      externalId: "crm-1",
      description: "Likes, commas",
      labels: ["vip", "new"],
      attributes: { plan: "pro", seats: 3, code: "42", paid: true },
    });
    const res = await exported(ws, "format=csv&q=ann");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("text/csv; charset=utf-8");
    expect(res.body.split("\r\n")).toEqual([
      "email,phone,external_id,name,description,labels,role,attributes.code,attributes.paid,attributes.plan,attributes.seats",
      `ann@x.test,'+14155550100,crm-1,Ann Lee,"Likes, commas","new,vip",user,"""42""",true,pro,3`,
      "",
    ]);
  });

  it("pages through more members than one D1 read holds, each once", async () => {
    const ws = await newWorkspace();
    const rows = Array.from({ length: 1205 }, (_, i) => `p${i}@x.test,P ${i}`);
    const done = await importCsv(ws, `email,name\r\n${rows.join("\r\n")}\r\n`);
    expect(done.created).toBe(1205);
    const lines = ndjson((await exported(ws, "format=ndjson")).body);
    expect(lines).toHaveLength(1206);
    expect(new Set(lines.map((m) => m.id)).size).toBe(1206);
    const csvLines = (await exported(ws, "format=csv")).body.split("\r\n").filter(Boolean);
    expect(csvLines).toHaveLength(1207);
  });

  it("exports only the members a caller's role condition reaches", async () => {
    const ws = await newWorkspace();
    await addRole(ws, "eu-desk", ["members:read"], "team", `member.attributes.region == "eu"`);
    const desk = await keyForRole(ws, "eu-desk");
    const eu = await addMember(ws, { email: "eu@x.test", attributes: { region: "eu" } });
    await addMember(ws, { email: "us@x.test", attributes: { region: "us" } });
    const seen = ndjson((await exported(desk, "format=ndjson")).body).map((m) => m.id);
    expect(seen).toEqual([eu.id]);
    const csvText = (await exported(desk, "format=csv")).body;
    expect(csvText).toContain("eu@x.test");
    expect(csvText).not.toContain("us@x.test");
  });

  it("needs members:read, and refuses an unknown format with 422", async () => {
    const ws = await newWorkspace();
    const noRead = await keyForRole(ws, "user", []);
    expect((await exported(noRead, "format=csv")).status).toBe(403);
    const bad = await exported(ws, "format=xml");
    expect(bad.status).toBe(422);
    expect(bad.json().error.code).toBe("validation_failed");
  });

  it("gives a CSV that imports into another workspace as the same members", async () => {
    const source = await newWorkspace();
    const tricky = [
      {
        name: "Zoë O'Brien",
        email: "zoe@x.test",
        phone: "+442071838750",
        description: "=SUM(A1) is not a formula here",
        labels: ["vip"],
        attributes: { plan: "pro", seats: 12, ratio: 0.5, paid: false, code: "007", flag: "true", pad: " x ", neg: -3 },
      },
      { name: "Only External", externalId: "crm-42", attributes: { note: 'say "hi", then go' } },
      { name: "Plain", email: "plain@x.test" },
    ];
    for (const body of tricky) await addMember(source, body);
    // The customers: the owner of each workspace is its own.
    const file = (await exported(source, "format=csv&type=customer")).body;
    const target = await newWorkspace();
    const done = await importCsv(target, file);
    expect(done.failed).toBe(0);
    const before = ndjson((await exported(source, "format=ndjson&type=customer")).body).map(portable);
    const after = ndjson((await exported(target, "format=ndjson&type=customer")).body).map(portable);
    expect(after).toHaveLength(3);
    const byName = (a: { name: unknown }, b: { name: unknown }) => String(a.name).localeCompare(String(b.name));
    expect(after.sort(byName)).toEqual(before.sort(byName));
    // Imported again into the same workspace, it changes nothing.
    const again = await importCsv(source, file);
    expect(again).toMatchObject({ created: 0, updated: 0, failed: 0 });
  });
});
