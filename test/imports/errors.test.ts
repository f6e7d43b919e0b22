import { parse } from "csv-parse/sync";
import { describe, expect, it } from "vitest";
import { addMember, addRole, call, keyForRole, newWorkspace } from "../helpers";
import { csv, importCsv, postCsv } from "./helpers";

type ErrorJson = { row: number; column: string; value: string; message: string };

describe("rows an import cannot take", () => {
  it("are each reported with row, column, value and reason while the other rows go on", async () => {
    const ws = await newWorkspace();
    const a = await addMember(ws, { email: "a@example.com" });
    const b = await addMember(ws, { phone: "+14155550111" });
    const c = await addMember(ws, { email: "c@example.com", externalId: "c-1" });
    const result = await importCsv(
      ws,
      csv(
        "email,phone,external_id,name,role", // 1
        ",,,Only A Name,", // 2: no identifier
        "not-an-email,,,Bad Email,", // 3
        "ok@example.com,12,,Bad Phone,", // 4
        "new@example.com,,,Wizard,wizard", // 5: no such role
        "a@example.com,+14155550111,,Two People,", // 6: email is A's, phone is B's
        "c@example.com,,c-2,Other Id,", // 7: C already has another external ID
        "fine@example.com,,,Fine,", // 8
      ),
    );
    expect(result).toMatchObject({ status: "completed", total: 7, processed: 7, created: 1, updated: 0, failed: 6 });
    const byRow = Object.fromEntries(result.errors.map((e: ErrorJson) => [e.row, e]));
    expect(byRow[2]).toMatchObject({
      column: "email",
      value: "",
      message: "A row needs an email, a phone or an external_id.",
    });
    expect(byRow[3]).toMatchObject({ column: "email", value: "not-an-email" });
    expect(byRow[4]).toMatchObject({ column: "phone", value: "12" });
    expect(byRow[5]).toMatchObject({ column: "role", value: "wizard", message: 'No role "wizard" in this workspace.' });
    expect(byRow[6]).toMatchObject({ column: "phone", value: "+14155550111" });
    expect(byRow[6].message).toContain(a.id);
    expect(byRow[6].message).toContain(b.id);
    expect(byRow[7]).toMatchObject({ column: "external_id", value: "c-2" });
    expect(byRow[7].message).toContain(c.id);
    // Nothing about the matched members changed.
    const members = await call("GET", `/v1/members/${c.id}`, { key: ws.key });
    expect(members.body).toMatchObject({ externalId: "c-1", name: "Someone" });
  });

  it("reports every problem of a row, and counts the row once", async () => {
    const ws = await newWorkspace();
    const result = await importCsv(ws, csv("email,phone,labels", "nope,12,!!!"));
    expect(result.failed).toBe(1);
    expect(result.errors.map((e: ErrorJson) => e.column)).toEqual(["email", "phone", "labels"]);
  });

  it("offers the failed rows as a CSV with their cells, row and reasons", async () => {
    const ws = await newWorkspace();
    const imported = await importCsv(
      ws,
      csv("Email,Name,Notes", 'bad,"Smith, J",x', "good@example.com,G,y", ",Nobody,z"),
    );
    const res = await call("GET", `/v1/imports/${imported.id}/errors.csv`, { key: ws.key });
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toContain("text/csv");
    expect(res.headers.get("Content-Disposition")).toContain("attachment");
    const records = parse(res.body as string) as string[][];
    expect(records).toEqual([
      ["Email", "Name", "Notes", "row", "error"],
      ["bad", "Smith, J", "x", "2", "email: Not a valid email address."],
      ["", "Nobody", "z", "4", "email: A row needs an email, a phone or an external_id."],
    ]);
  });

  it("serves no cell a spreadsheet would run as a formula: each gets a leading apostrophe", async () => {
    const ws = await newWorkspace();
    const formulas = ['=HYPERLINK("http://evil.example","x")', "+cmd@x", "-2+3", "@SUM(A1)", "\t=1+1", "\r=1+1"];
    const quoted = (cell: string) => `"${cell.replaceAll('"', '""')}"`;
    const imported = await importCsv(
      ws,
      csv(
        "email,name,=Header,phone",
        ...formulas.map((f) => `not-an-email,${quoted(f)},x,+14155550100`),
        `-bad,${quoted(formulas[0] ?? "")},y,`,
      ),
    );
    expect(imported.failed).toBe(formulas.length + 1);
    const res = await call("GET", `/v1/imports/${imported.id}/errors.csv`, { key: ws.key });
    expect(res.status).toBe(200);
    const records = parse(res.body as string, { relax_column_count: true }) as string[][];
    const cells = records.flat();
    const live = cells.filter((cell) => /^[=+\-@\t\r]/.test(cell));
    expect(live).toEqual([]);
    expect(records[0]).toEqual(["email", "name", "'=Header", "phone", "row", "error"]);
    // The apostrophe is the only change: the cell's text follows it whole.
    expect(records.slice(1, -1).map((r) => r[1])).toEqual(formulas.map((f) => `'${f}`));
    expect(records[1]?.[3]).toBe("'+14155550100");
    expect(records.at(-1)?.[0]).toBe("'-bad");
  });

  it("takes a fixed errors CSV back as it was before its cells were guarded", async () => {
    const ws = await newWorkspace();
    const first = await importCsv(ws, csv("email,name,phone", "not-an-email,-Dash,+14155550100"));
    const errors = await call("GET", `/v1/imports/${first.id}/errors.csv`, { key: ws.key });
    const fixed = (errors.body as string).replace("not-an-email", "dash@example.com");
    const again = await importCsv(ws, fixed);
    expect(again).toMatchObject({ created: 1, failed: 0 });
    const [member] = (await call("GET", "/v1/members?q=dash%40example.com", { key: ws.key })).body.data;
    expect(member).toMatchObject({ email: "dash@example.com", name: "-Dash", phone: "+14155550100" });
  });

  it("refuses a role that does not exist, or grants more than the caller holds", async () => {
    const ws = await newWorkspace();
    const unknown = await postCsv(ws, csv("email", "a@example.com"), { role: "wizard" });
    expect(unknown.status).toBe(422);
    await addRole(ws, "clerk", ["members:write"]);
    const clerk = await keyForRole(ws, "clerk", ["members:write"]);
    const tooMuch = await postCsv(ws, csv("email", "a@example.com"), { role: "manager", key: clerk.key });
    expect(tooMuch.status).toBe(403);
    expect(tooMuch.body.error.code).toBe("role_exceeds_caller");
    // A role column cannot do what the query cannot: that row is reported, the rest go on.
    const result = await importCsv(ws, csv("email,role", "boss@example.com,manager", "plain@example.com,"), {
      key: clerk.key,
      role: "clerk",
    });
    expect(result).toMatchObject({ created: 1, failed: 1 });
    expect(result.errors[0]).toMatchObject({ row: 2, column: "role", value: "manager" });
  });

  it("needs members:write to import, and is another workspace's 404", async () => {
    const ws = await newWorkspace();
    const reader = await keyForRole(ws, "user", ["members:read"]);
    expect((await postCsv(ws, csv("email", "a@example.com"), { key: reader.key })).status).toBe(403);
    const imported = await importCsv(ws, csv("email", "a@example.com"));
    const other = await newWorkspace();
    expect((await call("GET", `/v1/imports/${imported.id}`, { key: other.key })).status).toBe(404);
    expect((await call("GET", `/v1/imports/${imported.id}/errors.csv`, { key: other.key })).status).toBe(404);
  });
});
