import { env } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { database } from "../../worker/lib/db";
import { addMember, call, d1Usage, newWorkspace } from "../helpers";

describe("D1 usage in Server-Timing", () => {
  it("answers a member list with the rows D1 read for it", async () => {
    const ws = await newWorkspace();
    await addMember(ws, { email: "a@x.test", labels: ["vip"] });
    const list = await call("GET", "/v1/members?label=vip", { key: ws.key });
    expect(list.status).toBe(200);
    expect(list.body.data).toHaveLength(1);
    expect(d1Usage(list.headers)).toMatchObject({ rowsRead: expect.any(Number), rowsWritten: 0 });
    expect(d1Usage(list.headers).rowsRead).toBeGreaterThan(0);
  });

  it("counts the rows a write batch wrote", async () => {
    const ws = await newWorkspace();
    const res = await call("POST", "/v1/members", { key: ws.key, body: { name: "B", email: "b@x.test" } });
    expect(res.status).toBe(201);
    expect(d1Usage(res.headers).rowsWritten).toBeGreaterThan(0);
  });

  it("answers errors with the header too", async () => {
    const res = await call("GET", "/v1/members", { key: "not-a-key" });
    expect(res.status).toBe(401);
    expect(d1Usage(res.headers).rowsWritten).toBe(0);
  });

  it("still reads rows whose columns share a name, as the API key lookup does", async () => {
    const ws = await newWorkspace();
    const me = await call("GET", "/v1/workspace", { key: ws.key });
    expect(me.status).toBe(200);
    expect(d1Usage(me.headers).rowsRead).toBeGreaterThan(0);
  });
});

describe("the metered database", () => {
  // Selects run through all() to get their meta, where D1 keys each row's cells by column name.
  it("keeps every cell of a row whose columns share a name, in column order", async () => {
    const db = database(env.DB);
    expect(await db.values(sql`select 'first' as x, 'second' as x, 3 as y`)).toEqual([["first", "second", 3]]);
  });

  it("keeps the column order when a column is named like a number", async () => {
    const db = database(env.DB);
    expect(await db.values(sql`select 'first' as b, 'second' as "1"`)).toEqual([["first", "second"]]);
  });
});
