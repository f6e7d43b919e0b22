import { env } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { database } from "../../worker/lib/db";
import { addMember, call, d1Usage, newWorkspace } from "../helpers";
import { configureSms, newNumber, postInbound, smsParams } from "../provider/twilio";

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

  it("answers an authenticated caller's errors with the header too", async () => {
    const ws = await newWorkspace();
    const res = await call("GET", "/v1/members/mem_nobody", { key: ws.key });
    expect(res.status).toBe(404);
    expect(d1Usage(res.headers).rowsWritten).toBe(0);
  });

  it("gives none to a refused credential", async () => {
    const res = await call("GET", "/v1/members", { key: "not-a-key" });
    expect(res.status).toBe(401);
    expect(res.headers.get("Server-Timing")).toBeNull();
  });

  it("still reads rows whose columns share a name, as the API key lookup does", async () => {
    const ws = await newWorkspace();
    const me = await call("GET", "/v1/workspace", { key: ws.key });
    expect(me.status).toBe(200);
    expect(d1Usage(me.headers).rowsRead).toBeGreaterThan(0);
  });
});

describe("D1 usage on routes anyone may call", () => {
  const token = (prefix: string) => `${prefix}_${"C".repeat(43)}`;

  // Even with DEBUG_METRICS on (vitest.config.ts): the rows read would tell a member's email from a stranger's.
  it("is never in the answer, whatever it read or wrote", async () => {
    const ws = await newWorkspace({ allowJoinRequests: true });
    await addMember(ws, { email: "known@x.test" });
    await configureSms(ws);
    const answers = [
      await call("POST", "/v1/auth/login", { body: { workspace: ws.slug, email: "known@x.test" } }),
      await call("POST", "/v1/auth/login", { body: { workspace: ws.slug, email: "stranger@x.test" } }),
      await call("POST", "/v1/auth/verify", { body: { token: token("lms") } }),
      await call("POST", "/v1/auth/logout"),
      await call("POST", "/v1/invitations/accept", { body: { token: token("lmi") } }),
      await call("POST", "/v1/credential-changes/confirm", { body: { token: token("lmx") } }),
      await call("POST", `/public/${ws.slug}/join-requests`, { body: { name: "Jo", email: "jo@x.test" } }),
      await call("POST", "/public/no-such-workspace/join-requests", { body: { name: "Jo", email: "jo@x.test" } }),
      await postInbound(ws.id, "sms", smsParams(newNumber(), "Hello?")),
      await call("GET", "/healthz"),
    ];
    expect(answers.map((res) => res.status)).toEqual([202, 202, 404, 204, 404, 404, 202, 404, 200, 200]);
    for (const res of answers) expect(res.headers.get("Server-Timing")).toBeNull();
  });
});

describe("the metered database", () => {
  // Selects run through all() to get their meta, where D1 keys each row's cells by column name.
  it("keeps every cell of a row whose columns share a name, in column order", async () => {
    const db = database(env.SCRATCH_A);
    expect(await db.values(sql`select 'first' as x, 'second' as x, 3 as y`)).toEqual([["first", "second", 3]]);
  });

  it("keeps the column order when a column is named like a number", async () => {
    const db = database(env.SCRATCH_A);
    expect(await db.values(sql`select 'first' as b, 'second' as "1"`)).toEqual([["first", "second"]]);
  });
});
