import { createMessageBatch } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { type BulkMessage, consumeBulk, runBulk } from "../../worker/bulk/queue";
import { beginDeletion } from "../../worker/labels/deletion";
import { database } from "../../worker/lib/db";
import { eventually } from "../actions/helpers";
import { afterBatch, dyingAfter, eventsOf, rows, type StoredEvent, shardDb } from "../db";
import { call, newWorkspace, type Workspace } from "../helpers";
import { csv, importCsv } from "../imports/helpers";
import { openLive, waitFor } from "../live/sockets";

// The test runtime takes at most 5 holders a batch (BULK_BATCH in vitest.config.ts), so a few
// dozen holders make a deletion of several batches.
const BATCH = Number((env as { BULK_BATCH?: string }).BULK_BATCH);

type Member = { id: string; labels: string[] };

/** `n` members holding `doomed` (and `kept`), imported in one go; answers them. */
async function holders(ws: Workspace, n: number): Promise<Member[]> {
  const lines = Array.from({ length: n }, (_, i) => `holder${i}@example.test,Holder ${i},"doomed,kept"`);
  const result = await importCsv(ws, csv("email,name,labels", ...lines));
  expect(result).toMatchObject({ status: "completed", created: n });
  const [{ n: held } = { n: 0 }] = await rows<{ n: number }>(
    ws.id,
    "select count(*) as n from members where workspace_id = ? and labels like '%doomed%'",
    ws.id,
  );
  expect(held).toBe(n);
  return rows<Member>(ws.id, "select id, labels from members where workspace_id = ? and email like 'holder%'", ws.id);
}

/** Begins the deletion as DELETE /v1/labels/{slug} does, without running or queueing a batch: the test drives the job. */
async function recordDeletion(ws: Workspace, slug: string): Promise<BulkMessage> {
  expect(await beginDeletion(database(await shardDb(ws.id)), ws.id, slug, new Date().toISOString())).toBe(true);
  return { type: "label.deletion", workspaceId: ws.id, slug };
}

/** Every holder's member.unlabeled naming `slug`, by member id. */
function unlabeledBy(log: StoredEvent[], slug: string) {
  const byMember = new Map<string, StoredEvent[]>();
  for (const event of log) {
    const data = event.data as { member?: { id: string }; labels?: string[] };
    if (event.type !== "member.unlabeled" || !data.labels?.includes(slug) || !data.member) continue;
    byMember.set(data.member.id, [...(byMember.get(data.member.id) ?? []), event]);
  }
  return byMember;
}

/** The deletion ended: every holder unlabeled once, in order after label.deleted, the label gone. */
async function expectDeletedOnce(ws: Workspace, slug: string, held: Member[]) {
  const log = await eventsOf(ws.id);
  expect(log.map((e) => e.seq)).toEqual(log.map((_, i) => i + 1));
  const deleted = log.filter((e) => e.type === "label.deleted");
  expect(deleted.map((e) => e.data)).toEqual([{ slug }]);
  const unlabeled = unlabeledBy(log, slug);
  expect([...unlabeled.keys()].sort()).toEqual(held.map((m) => m.id).sort());
  for (const events of unlabeled.values()) {
    expect(events).toHaveLength(1);
    expect(events[0]?.seq).toBeGreaterThan(deleted[0]?.seq ?? Number.POSITIVE_INFINITY);
  }
  const still = await rows(
    ws.id,
    "select id from members where workspace_id = ? and labels like ?",
    ws.id,
    `%"${slug}"%`,
  );
  expect(still).toEqual([]);
  expect(await rows(ws.id, "select slug from labels where workspace_id = ? and slug = ?", ws.id, slug)).toEqual([]);
  return { log, unlabeled };
}

describe("deleting a label held by many members", () => {
  it("answers 202 with the holders left, and a background job unlabels each of them exactly once", async () => {
    const ws = await newWorkspace();
    const held = await holders(ws, 12 * BATCH);
    const socket = await openLive({ key: ws.key });

    const res = await call("DELETE", "/v1/labels/doomed", { key: ws.key });
    // The request unlabels a few batches itself, and leaves the rest to the job.
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ slug: "doomed", status: "deleting", holders: expect.any(Number) });
    expect(res.body.holders).toBeGreaterThan(0);
    expect(res.body.holders).toBeLessThan(held.length);

    await eventually(
      "the deletion's end",
      async () =>
        (await rows(ws.id, "select 1 from labels where workspace_id = ? and slug = 'doomed'", ws.id)).length === 0,
    );
    const { unlabeled } = await expectDeletedOnce(ws, "doomed", held);
    for (const [id, [event]] of unlabeled) {
      const now = (await call("GET", `/v1/members/${id}`, { key: ws.key })).body;
      expect(now.labels).toEqual(["kept"]);
      expect(event?.data).toEqual({ member: now, labels: ["doomed"] });
    }
    // The live stream gets them all, in seq order, after label.deleted.
    await waitFor(
      "every member.unlabeled",
      () => socket.messages.filter((m) => m.type === "member.unlabeled").length === held.length,
    );
    const frames = socket.messages.filter((m) => m.type === "label.deleted" || m.type === "member.unlabeled");
    expect(frames[0]?.type).toBe("label.deleted");
    const seqs = socket.seqs();
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    socket.ws.close();
  });

  it("refuses writes naming the label until it is gone, and a member relabelled meanwhile ends without it, unlabeled once", async () => {
    const ws = await newWorkspace();
    const held = await holders(ws, 8 * BATCH);
    const job = await recordDeletion(ws, "doomed");
    const checks: Record<string, unknown> = {};
    let relabelled: Member | undefined;
    // After the job's second batch: the label is gone to the API, holders remain.
    const meanwhile = afterBatch(2, async () => {
      checks.listed = (await call("GET", "/v1/labels", { key: ws.key })).body.data.map((l: { slug: string }) => l.slug);
      const [left] = await rows<Member>(
        ws.id,
        "select id, labels from members where workspace_id = ? and labels like '%doomed%' order by id desc limit 2",
        ws.id,
      );
      if (!left) throw new Error("no holder left after two batches");
      // Its labels edited: the edit takes `doomed` away itself (and says so once).
      const edit = await call("PATCH", `/v1/members/${left.id}`, { key: ws.key, body: { labels: ["kept", "fresh"] } });
      checks.relabel = edit.status;
      relabelled = left;
      const [other] = await rows<Member>(
        ws.id,
        "select id from members where workspace_id = ? and labels like '%doomed%' limit 1",
        ws.id,
      );
      const naming = await Promise.all([
        call("PATCH", `/v1/members/${other?.id}`, { key: ws.key, body: { labels: ["doomed", "kept"] } }),
        call("POST", `/v1/members/${other?.id}/labels`, { key: ws.key, body: { labels: ["doomed"] } }),
        call("POST", "/v1/members", {
          key: ws.key,
          body: { name: "New", email: "new@example.test", labels: ["doomed"] },
        }),
        call("POST", "/v1/labels", { key: ws.key, body: { name: "Doomed again", slug: "doomed" } }),
      ]);
      checks.naming = naming.map((r) => [r.status, r.body.error?.code]);
      checks.imported = await importCsv(ws, csv("email,labels", "late@example.test,doomed", "fine@example.test,kept"));
    });
    expect(await runBulk(meanwhile, job, 60_000)).toBeNull();

    expect(checks.listed).toEqual(["kept"]);
    expect(checks.relabel).toBe(200);
    expect(checks.naming).toEqual(Array(4).fill([409, "label_deleting"]));
    expect(checks.imported).toMatchObject({
      status: "completed",
      created: 1,
      failed: 1,
      errors: [{ row: 2, column: "labels", value: "doomed", message: expect.stringContaining("being deleted") }],
    });
    const { unlabeled } = await expectDeletedOnce(ws, "doomed", held);
    // The relabelled member's one member.unlabeled is its edit's; it keeps what the edit gave.
    const own = unlabeled.get(relabelled?.id ?? "") ?? [];
    expect(own).toHaveLength(1);
    expect(own[0]?.data).toMatchObject({ member: { labels: ["fresh", "kept"] }, labels: ["doomed"] });
    const after = (await call("GET", `/v1/members/${relabelled?.id}`, { key: ws.key })).body;
    expect(after.labels).toEqual(["fresh", "kept"]);

    // Once gone, naming it creates it afresh.
    const again = await call("POST", `/v1/members/${after.id}/labels`, { key: ws.key, body: { labels: ["doomed"] } });
    expect(again.status).toBe(200);
    expect((await eventsOf(ws.id)).filter((e) => e.type === "label.created").at(-1)?.data).toMatchObject({
      label: { slug: "doomed" },
    });
  });

  it("repeats and loses nothing when its job dies between batches and its message comes again, twice at once", async () => {
    const ws = await newWorkspace();
    const held = await holders(ws, 10 * BATCH);
    const job = await recordDeletion(ws, "doomed");
    // The worker dies at the job's third batch, after two committed.
    const dying = dyingAfter(2);
    await expect(runBulk(dying, job, 60_000)).rejects.toThrow("worker killed");
    expect(unlabeledBy(await eventsOf(ws.id), "doomed").size).toBe(2 * BATCH);

    // The queue delivers the message again, and a second copy of it at the same time.
    const deliveries = [1, 2].map(() => {
      const batch = createMessageBatch("bulk", [
        { id: crypto.randomUUID(), timestamp: new Date(), attempts: 2, body: job },
      ]);
      return consumeBulk(batch, env);
    });
    await Promise.all([...deliveries, runBulk(env, job, 60_000)]);
    await eventually(
      "the deletion's end",
      async () =>
        (await rows(ws.id, "select 1 from labels where workspace_id = ? and slug = 'doomed'", ws.id)).length === 0,
    );
    await expectDeletedOnce(ws, "doomed", held);
  });
});
