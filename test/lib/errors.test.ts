import { DrizzleQueryError } from "drizzle-orm";
import { afterEach, expect, it, vi } from "vitest";
import { errorForLog, errorReason } from "../../worker/lib/errors";
import { shardDb } from "../db";
import { addMember, call, newWorkspace } from "../helpers";
import { waitFor } from "../wait";

afterEach(() => {
  vi.restoreAllMocks();
});

it("logs a failed query's SQL and D1's reason, but none of its bound values (a token hash among them)", async () => {
  const ws = await newWorkspace();
  const member = await addMember(ws, { email: "pat@example.test" });
  // D1 refuses this member's sign-in link, so issuing it after POST /v1/auth/login answered fails on the insert of the link's token hash.
  const trigger = `refuse_${member.id}`;
  const db = await shardDb(ws.id);
  await db
    .prepare(
      `create trigger ${trigger} before insert on sign_in_links when new.member_id = '${member.id}'
     begin select raise(abort, 'refused by the test'); end`,
    )
    .run();
  const log = vi.spyOn(console, "error").mockImplementation(() => {});
  try {
    const res = await call("POST", "/v1/auth/login", { body: { workspace: ws.slug, email: "pat@example.test" } });
    // The answer is made before the link is issued: a failure there is logged, never answered.
    expect(res.status).toBe(202);
    await waitFor("the failure's log line", () => log.mock.calls.length > 0);
  } finally {
    await db.prepare(`drop trigger ${trigger}`).run();
  }
  expect(log).toHaveBeenCalledOnce();
  const line = String(log.mock.calls[0]?.[0]);
  expect(line).not.toContain(member.id);
  expect(line).not.toContain(ws.id);
  // The token's SHA-256, in hex.
  expect(line).not.toMatch(/[0-9a-f]{64}/);
  expect(line).toContain('insert into \\"sign_in_links\\"');
  expect(line).toContain("refused by the test");
});

it("answers a failed write 500 with a request id, and logs it without the query's bound values", async () => {
  const ws = await newWorkspace();
  const trigger = `refuse_${ws.id}`;
  const db = await shardDb(ws.id);
  await db
    .prepare(
      `create trigger ${trigger} before insert on members when new.email = 'refused@example.test'
     begin select raise(abort, 'refused by the test'); end`,
    )
    .run();
  const log = vi.spyOn(console, "error").mockImplementation(() => {});
  try {
    const res = await call("POST", "/v1/members", {
      key: ws.key,
      body: { name: "Refused", email: "refused@example.test" },
    });
    expect(res.status).toBe(500);
    expect(res.body.error.code).toBe("internal");
    const requestId = /request ([0-9a-f-]{36})/.exec(res.body.error.message)?.[1];
    expect(log).toHaveBeenCalledOnce();
    const line = String(log.mock.calls[0]?.[0]);
    expect(JSON.parse(line)).toMatchObject({ requestId, path: "/v1/members" });
    expect(line).toContain("refused by the test");
    expect(line).not.toContain("refused@example.test");
    expect(line).not.toContain(ws.id);
  } finally {
    await db.prepare(`drop trigger ${trigger}`).run();
  }
});

it("tells a caller why a query failed by D1's reason, without the query's bound values", () => {
  const cause = new Error("D1_ERROR: UNIQUE constraint failed: members.email: SQLITE_CONSTRAINT");
  const err = new DrizzleQueryError('insert into "members" values (?, ?)', ["mem_secret", "pat@example.test"], cause);
  expect(errorReason(err)).toBe(String(cause));
  expect(errorReason(new Error("plain"))).toBe("Error: plain");
});

it("keeps a failed query's bound values out of the log and the reason when the error crossed an RPC as a plain Error", () => {
  const crossed = new Error(
    'Failed query: update "credential_changes" set used = 1 where token_hash = ?\nparams: 9f86d081884c7d65,pat@example.test',
  );
  crossed.stack = `Error: ${crossed.message}\n    at confirm (worker/credentials/confirm.ts:104:3)`;
  for (const text of [errorForLog(crossed), errorReason(crossed)]) {
    expect(text).toContain("Failed query: update");
    expect(text).not.toContain("9f86d081884c7d65");
    expect(text).not.toContain("pat@example.test");
  }
  expect(errorForLog(crossed)).toContain("confirm.ts:104");
});
