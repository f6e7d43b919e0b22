import { describe, expect, it } from "vitest";
import { WINDOW_BYTES } from "../../worker/imports/chunk";
import { rows } from "../db";
import { call, newWorkspace } from "../helpers";
import { csv, importCsv, postCsv, waitForImport } from "./helpers";

type StoredMember = {
  name: string;
  email: string | null;
  phone: string | null;
  external_id: string | null;
  description: string | null;
  labels: string;
};

const member = async (workspaceId: string, where: string, value: string) =>
  (
    await rows<StoredMember>(
      workspaceId,
      `select * from members where workspace_id = ? and ${where} = ?`,
      workspaceId,
      value,
    )
  )[0];

describe("CSV files", () => {
  it("reads a BOM, CRLF, quoted commas, quotes and line breaks, and skips blank lines", async () => {
    const ws = await newWorkspace();
    const file =
      "\uFEFF Email ,External ID,NAME,Description,Labels,Phone\r\n" + // line 1
      "\r\n" + // 2
      'ann@example.com,ext-1,Ann,"Likes commas, and ""quotes""","VIP, New Customer",\r\n' + // 3
      ",,,,,\r\n" + // 4: a spreadsheet's empty row
      'bob@example.com,,Bob,"Line one\r\nLine two",vip;beta,\r\n' + // 5-6
      "\r\n" + // 7
      ",ext-3,Cy,,,+1 415 555 0100\r\n" + // 8
      "not-an-email,,Dee,,,"; // 9, no final line break
    const result = await importCsv(ws, file);
    expect(result).toMatchObject({ status: "completed", total: 4, processed: 4, created: 3, failed: 1 });
    expect(result.errors).toEqual([{ row: 9, column: "email", value: "not-an-email", message: expect.any(String) }]);

    const ann = await member(ws.id, "email", "ann@example.com");
    expect(ann).toMatchObject({ name: "Ann", external_id: "ext-1", description: 'Likes commas, and "quotes"' });
    expect(JSON.parse(ann?.labels ?? "")).toEqual(["new-customer", "vip"]);
    const bob = await member(ws.id, "email", "bob@example.com");
    expect(bob?.description).toBe("Line one\r\nLine two");
    expect(JSON.parse(bob?.labels ?? "")).toEqual(["beta", "vip"]);
    expect(await member(ws.id, "external_id", "ext-3")).toMatchObject({ name: "Cy", phone: "+14155550100" });
  });

  it("creates the labels a file names, as the members API does", async () => {
    const ws = await newWorkspace();
    await importCsv(ws, csv("email,labels", 'a@example.com,"Gold Tier, beta"', "b@example.com,beta;Gold Tier"));
    const labels = await call("GET", "/v1/labels", { key: ws.key });
    expect(labels.body.data.map((l: { slug: string }) => l.slug).sort()).toEqual(["beta", "gold-tier"]);
  });

  it("matches header names whatever their case, spacing, underscores or dashes", async () => {
    const ws = await newWorkspace();
    const result = await importCsv(ws, csv("EMAIL,external-id, Name ,DESCRIPTION", "a@example.com,x-9,Al,Hi"));
    expect(result).toMatchObject({ created: 1, warnings: [] });
    expect(await member(ws.id, "email", "a@example.com")).toMatchObject({
      external_id: "x-9",
      name: "Al",
      description: "Hi",
    });
  });

  it("reports each unknown column once as a warning, however many rows", async () => {
    const ws = await newWorkspace();
    const lines = ["email,Favourite Colour,name,"];
    for (let i = 0; i < 30; i++) lines.push(`p${i}@example.com,blue,P ${i},x`);
    const result = await importCsv(ws, csv(...lines));
    expect(result.created).toBe(30);
    expect(result.warnings).toEqual([
      { column: "Favourite Colour", message: 'Unknown column "Favourite Colour" is ignored.' },
      { column: "", message: "Column 4 has no name and is ignored." },
    ]);
  });

  it("keeps the first 100 warnings and counts the rest in one more", async () => {
    const ws = await newWorkspace();
    // 1,000 columns, the most a header may have: email and 999 without a name.
    const result = await importCsv(ws, csv(`email${",".repeat(999)}`, "a@example.com"));
    expect(result).toMatchObject({ status: "completed", created: 1 });
    expect(result.warnings).toHaveLength(101);
    expect(result.warnings[99]).toEqual({ column: "", message: "Column 101 has no name and is ignored." });
    expect(result.warnings[100]).toEqual({ column: "", message: "And 899 more warnings." });
  });

  it("refuses a header of more than 1,000 columns, even when they are only commas, and keeps nothing", async () => {
    const ws = await newWorkspace();
    // The parser's 64 KiB record limit counts cells' characters, not the commas between them.
    const res = await postCsv(ws, csv(`email${",".repeat(200_000)}`, "a@example.com"));
    expect(res.status).toBe(422);
    expect(res.body.error).toMatchObject({ code: "invalid_csv", issues: [{ path: "header" }] });
    expect(await rows(ws.id, "select id from imports where workspace_id = ?", ws.id)).toEqual([]);
  });

  it("names a member after its first identifier when the file has no name", async () => {
    const ws = await newWorkspace();
    await importCsv(ws, csv("email", "nameless@example.com"));
    expect((await member(ws.id, "email", "nameless@example.com"))?.name).toBe("nameless@example.com");
  });

  it("refuses a file without a header, without an identifier column, or naming a column twice", async () => {
    const ws = await newWorkspace();
    for (const [file, fragment] of [
      ["", "empty"],
      ["\r\n\r\n", "empty"],
      [csv("name,description", "Ann,x"), "email, phone or external_id"],
      [csv("email,E-mail", "a@example.com,b@example.com"), "twice"],
    ] as const) {
      const res = await postCsv(ws, file);
      expect(res.status, file).toBe(422);
      expect(res.body.error.code).toBe("invalid_csv");
      expect(res.body.error.message).toContain(fragment);
    }
  });

  it("reads multi-line quoted cells across chunk boundaries, numbering rows by their first line", async () => {
    const ws = await newWorkspace();
    // Each record spans 4 lines and ~1.6 KB, so chunks end by size, and the bytes a chunk
    // reads end inside some quoted cell.
    const description = `First line, with a comma and "quotes"\r\n${"x".repeat(1500)}\r\nthird\r\nlast`;
    const quoted = `"${description.replaceAll('"', '""')}"`;
    const count = Math.ceil((2.5 * WINDOW_BYTES) / 1600);
    const bad = Math.floor(count / 2);
    const lines = ["email,name,description"];
    for (let i = 0; i < count; i++) lines.push(`${i === bad ? "not-an-email" : `p${i}@example.com`},P ${i},${quoted}`);
    const result = await importCsv(ws, csv(...lines));
    expect(result).toMatchObject({ status: "completed", total: count, created: count - 1, failed: 1 });
    expect(result.errors).toMatchObject([{ row: 2 + 4 * bad, column: "email", value: "not-an-email" }]);
    const [{ n } = { n: 0 }] = await rows<{ n: number }>(
      ws.id,
      "select count(*) as n from members where workspace_id = ? and description = ?",
      ws.id,
      description,
    );
    expect(n).toBe(count - 1);
  });

  it("fails an import at an unclosed quote, keeping the rows before it", async () => {
    const ws = await newWorkspace();
    const result = await importCsv(
      ws,
      csv("email,name", "a@example.com,Ann", 'b@example.com,"Bob', "c@example.com,Cy"),
    );
    expect(result).toMatchObject({ status: "failed", created: 1, processed: 1 });
    expect(result.error).toMatch(/^Line 3: .*never closed/);
  });

  it.each([
    ["within a chunk's window", 100_000, "c@example.com,Cy"],
    ["beyond a chunk's window", 1_000_000, "c@example.com,Cy"],
    ["within a chunk's window, before an unclosed quote", 100_000, 'c@example.com,"Cy'],
  ])(
    "fails an import at a row of so many short cells that it is over 64 KiB (%s), keeping the rows before it",
    async (_, commas, last) => {
      const ws = await newWorkspace();
      const result = await importCsv(
        ws,
        csv("email,name", "a@example.com,Ann", "", `b@example.com${",".repeat(commas)}`, last),
      );
      expect(result).toMatchObject({ status: "failed", created: 1, processed: 1 });
      expect(result.error).toBe("Line 4: A row is longer than 65536 bytes.");
    },
  );

  it("answers 415 to a body that is neither CSV nor JSON", async () => {
    const ws = await newWorkspace();
    const res = await call("POST", "/v1/imports", {
      key: ws.key,
      headers: { "Content-Type": "text/plain" },
      rawBody: "email\na@example.com\n",
    });
    expect(res.status).toBe(415);
  });
});

describe("JSON imports", () => {
  it("imports {members: [...]} like a CSV, numbering rows by their index", async () => {
    const ws = await newWorkspace();
    const res = await call("POST", "/v1/imports", {
      key: ws.key,
      body: {
        members: [
          { email: "j1@example.com", name: "J One", labels: ["vip"], externalId: "j-1" },
          { phone: "+44 20 7946 0958", labels: "a, b", shoeSize: 44 },
          { name: "Nobody" },
          { email: "bad" },
        ],
      },
    });
    expect(res.status).toBe(202);
    const result = await waitForImport(ws, res.body.id);
    expect(result).toMatchObject({ status: "completed", total: 4, processed: 4, created: 2, failed: 2 });
    expect(result.errors.map((e: { row: number; column: string }) => [e.row, e.column])).toEqual([
      [3, "email"],
      [4, "email"],
    ]);
    expect(result.warnings).toEqual([{ column: "shoeSize", message: 'Unknown field "shoeSize" is ignored.' }]);
    expect(await member(ws.id, "external_id", "j-1")).toMatchObject({ name: "J One", labels: '["vip"]' });
    expect(JSON.parse((await member(ws.id, "phone", "+442079460958"))?.labels ?? "")).toEqual(["a", "b"]);
  });

  it("keeps the first 100 unknown-field warnings, with long names cut, and counts the rest", async () => {
    const ws = await newWorkspace();
    const member: Record<string, unknown> = { email: "a@example.com", ["x".repeat(1_000_000)]: 1 };
    for (let i = 0; i < 2000; i++) member[`extra${i}`] = i;
    const res = await call("POST", "/v1/imports", { key: ws.key, body: { members: [member] } });
    expect(res.status).toBe(202);
    const result = await waitForImport(ws, res.body.id);
    expect(result).toMatchObject({ status: "completed", created: 1 });
    expect(result.warnings).toHaveLength(101);
    const cut = `${"x".repeat(100)}…`;
    expect(result.warnings[0]).toEqual({ column: cut, message: `Unknown field "${cut}" is ignored.` });
    expect(result.warnings[100]).toEqual({ column: "", message: "And 1901 more warnings." });
  });

  it("refuses a member longer than a CSV row may be (64 KiB), naming it, and keeps nothing", async () => {
    const ws = await newWorkspace();
    const res = await call("POST", "/v1/imports", {
      key: ws.key,
      body: {
        members: [
          { email: "a@example.com" },
          { email: "b@example.com", description: "d".repeat(70_000) },
          { email: "c@example.com" },
        ],
      },
    });
    expect(res.status).toBe(422);
    expect(res.body.error).toMatchObject({ code: "validation_failed", issues: [{ path: "members.1" }] });
    expect(await rows(ws.id, "select id from imports where workspace_id = ?", ws.id)).toEqual([]);
    expect(
      await rows(ws.id, "select id from members where workspace_id = ? and email like '%@example.com'", ws.id),
    ).toEqual([]);
  });

  it("answers 422 to a body without a members array", async () => {
    const ws = await newWorkspace();
    expect((await call("POST", "/v1/imports", { key: ws.key, body: { people: [] } })).status).toBe(422);
    expect((await call("POST", "/v1/imports", { key: ws.key, body: [{ email: "a@example.com" }] })).status).toBe(422);
  });
});
