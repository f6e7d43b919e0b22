import { createMessageBatch } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { consumeBulk, runBulk } from "../../worker/bulk/queue";
import { eventually } from "../actions/helpers";
import { afterBatch, dyingAfter, rows, shardDb } from "../db";
import { addRole, call, keyForRole, newWorkspace, type Workspace } from "../helpers";
import { csv, importCsv } from "../imports/helpers";

// The test runtime reads at most 5 members a batch (BULK_BATCH in vitest.config.ts): a few
// dozen members make a retype of several batches, more than the request runs itself.
const BATCH = Number((env as { BULK_BATCH?: string }).BULK_BATCH);

/** `n` members of role `partner` (type team), imported. */
async function partners(ws: Workspace, n: number) {
  await addRole(ws, "partner", ["members:read"], "team");
  const lines = Array.from({ length: n }, (_, i) => `partner${i}@example.test,Partner ${i}`);
  expect(await importCsv(ws, csv("email,name", ...lines), { role: "partner" })).toMatchObject({ created: n });
}

const typesOf = (ws: Workspace) =>
  rows<{ type: string; n: number }>(
    ws.id,
    "select type, count(*) as n from members where workspace_id = ? and role = 'partner' group by type",
    ws.id,
  );
const mark = async (ws: Workspace) =>
  (
    await rows<{ since: string | null }>(
      ws.id,
      "select retyping_since as since from roles where workspace_id = ? and key = 'partner'",
      ws.id,
    )
  )[0]?.since;

/** Changes the role's type as PATCH /v1/roles/{key} does, without running or queueing a batch: the test drives the job. */
async function recordRetype(ws: Workspace) {
  const at = new Date().toISOString();
  await (await shardDb(ws.id))
    .prepare(
      "update roles set type = 'customer', retyping_since = ?, updated_at = ? where workspace_id = ? and key = 'partner'",
    )
    .bind(at, at, ws.id)
    .run();
  return {
    type: "role.retype" as const,
    workspaceId: ws.id,
    key: "partner",
    cursor: { passStarted: at, changed: 0, status: 0, after: "" },
  };
}

describe("a role's type changed while many members hold it", () => {
  it("decides what its members may do at once, and reaches every member's type through the job", async () => {
    const ws = await newWorkspace();
    await partners(ws, 8 * BATCH);
    const { member, key } = await keyForRole(ws, "partner");
    expect((await call("GET", "/v1/members?limit=100", { key })).body.data.length).toBeGreaterThan(1);

    const res = await call("PATCH", "/v1/roles/partner", { key: ws.key, body: { type: "customer" } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ key: "partner", type: "customer" });
    expect(res.body).not.toHaveProperty("retypingSince");
    await eventually("every member's type", async () => (await mark(ws)) === null);
    expect(await typesOf(ws)).toEqual([{ type: "customer", n: 8 * BATCH + 1 }]);
    expect(
      (await call("GET", "/v1/members?type=team", { key: ws.key })).body.data.map((m: { id: string }) => m.id),
    ).toEqual([ws.ownerId]);

    // A member the job has not reached yet still carries "team": the role decides, and a
    // customer reaches only themselves.
    await (await shardDb(ws.id)).prepare("update members set type = 'team' where id = ?").bind(member.id).run();
    const seen = (await call("GET", "/v1/members?limit=100", { key })).body.data.map((m: { id: string }) => m.id);
    expect(seen).toEqual([member.id]);
  });

  it("reaches a member whose status moved back behind the job while it ran", async () => {
    const ws = await newWorkspace();
    await partners(ws, 6 * BATCH);
    const [moving] = await rows<{ id: string }>(
      ws.id,
      "select id from members where workspace_id = ? and role = 'partner' order by id limit 1",
      ws.id,
    );
    expect((await call("POST", `/v1/members/${moving?.id}/archive`, { key: ws.key })).status).toBe(200);
    const job = await recordRetype(ws);
    // Once the job has passed the active members (six full batches and one that finds the
    // end), the archived one comes back among them.
    const meanwhile = afterBatch(6 + 1, async () => {
      expect((await call("POST", `/v1/members/${moving?.id}/unarchive`, { key: ws.key })).status).toBe(200);
    });
    expect(await runBulk(meanwhile, job, 60_000)).toBeNull();
    expect(await mark(ws)).toBeNull();
    expect(await typesOf(ws)).toEqual([{ type: "customer", n: 6 * BATCH }]);
  });

  it("repeats nothing and misses nobody when its job dies and its message comes again twice at once", async () => {
    const ws = await newWorkspace();
    await partners(ws, 6 * BATCH);
    const job = await recordRetype(ws);
    const dying = dyingAfter(3);
    await expect(runBulk(dying, job, 60_000)).rejects.toThrow("worker killed");
    expect(await mark(ws)).not.toBeNull();
    expect(await typesOf(ws)).toEqual([
      { type: "customer", n: 3 * BATCH },
      { type: "team", n: 3 * BATCH },
    ]);
    await Promise.all(
      [1, 2].map(() =>
        consumeBulk(
          createMessageBatch("bulk", [{ id: crypto.randomUUID(), timestamp: new Date(), attempts: 2, body: job }]),
          env,
        ),
      ),
    );
    await eventually("every member's type", async () => (await mark(ws)) === null);
    expect(await typesOf(ws)).toEqual([{ type: "customer", n: 6 * BATCH }]);
  });
});
