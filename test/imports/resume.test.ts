import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { processWindow, WINDOW_ROWS } from "../../worker/imports/chunk";
import { MAX_ATTEMPTS } from "../../worker/imports/queue";
import { beforeFirstBatch, dyingAfter, eventsOf, rows, shardDb } from "../db";
import { newWorkspace, type Workspace } from "../helpers";
import { csv, deliver, importMessage, recordUpload } from "./helpers";

const peopleCsv = (n: number) =>
  csv("email,name", ...Array.from({ length: n }, (_, i) => `person${i}@example.com,Person ${i}`));

async function state(ws: Workspace, importId: string) {
  const [job] = await rows<{ status: string; processed: number; created: number; chunks: number }>(
    ws.id,
    "select status, processed, created, chunks from imports where id = ?",
    importId,
  );
  const [{ n: chunkRows } = { n: 0 }] = await rows<{ n: number }>(
    ws.id,
    "select count(*) as n from import_chunks where import_id = ?",
    importId,
  );
  const [{ n: members } = { n: 0 }] = await rows<{ n: number }>(
    ws.id,
    "select count(*) as n from members where workspace_id = ? and email like 'person%'",
    ws.id,
  );
  const log = await eventsOf(ws.id);
  const created = log.filter(
    (e) => e.type === "member.created" && (e.data as { importId?: string }).importId === importId,
  );
  const ids = new Set(created.map((e) => (e.data as { member: { id: string } }).member.id));
  // One import_chunks row per committed chunk, as the import counts them.
  expect(chunkRows).toBe(job?.chunks ?? 0);
  return { job, members, createdEvents: created.length, distinctMembers: ids.size, seqs: log.map((e) => e.seq) };
}

// These tests drive the consumer by hand: the import is recorded (as POST does) but not
// queued, so each step below is one delivery of its queue message, and each delivery takes
// the import to its end (WHOLE_IMPORT, ./helpers.ts): what they check follows from the
// chunks and batches run, never from how long they took.
describe("an import killed midway", () => {
  it("resumes from its stored position: a message delivered again after a committed chunk repeats nothing", async () => {
    const ws = await newWorkspace();
    const job = await recordUpload(ws, peopleCsv(2.5 * WINDOW_ROWS));
    expect((await processWindow(env, importMessage(job))).kind).toBe("committed");
    const first = await state(ws, job.id);
    expect(first.job).toMatchObject({ processed: WINDOW_ROWS, created: WINDOW_ROWS });
    // Several chunks, each its own bounded transaction.
    expect(first.job?.chunks).toBeGreaterThan(1);
    // The worker died after the commit, before acknowledging: the queue delivers the message again.
    const result = await deliver(job, 2);
    expect(result.explicitAcks).toHaveLength(1);
    // That delivery goes on from the stored position (to the end: the tests' budget, see deliver).
    const after = await state(ws, job.id);
    const all = 2.5 * WINDOW_ROWS;
    expect(after.job).toMatchObject({ status: "completed", processed: all, created: all });
    expect(after).toMatchObject({ members: all, createdEvents: all, distinctMembers: all });
    expect(after.seqs).toEqual(after.seqs.map((_, i) => i + 1));
  });

  it("loses nothing when it dies while a chunk's batch is in flight", async () => {
    const ws = await newWorkspace();
    const all = 1.5 * WINDOW_ROWS;
    const job = await recordUpload(ws, peopleCsv(all));
    const dying = dyingAfter(0);
    await expect(processWindow(dying, importMessage(job))).rejects.toThrow("worker killed");
    expect(await state(ws, job.id)).toMatchObject({ job: { processed: 0, chunks: 0 }, members: 0, createdEvents: 0 });
    await deliver(job, 2);
    expect(await state(ws, job.id)).toMatchObject({
      job: { status: "completed", processed: all, created: all },
      members: all,
      createdEvents: all,
      distinctMembers: all,
    });
  });

  it("keeps the chunks a window committed before it died, and goes on after them exactly once", async () => {
    const ws = await newWorkspace();
    const all = 1.5 * WINDOW_ROWS;
    const job = await recordUpload(ws, peopleCsv(all));
    // The third chunk's batch never reaches D1: the worker dies midway through the window.
    const dying = dyingAfter(2);
    await expect(processWindow(dying, importMessage(job))).rejects.toThrow("worker killed");
    const midway = await state(ws, job.id);
    expect(midway.job).toMatchObject({ status: "running", chunks: 2 });
    expect(midway.job?.processed).toBeGreaterThan(0);
    expect(midway.job?.processed).toBeLessThan(WINDOW_ROWS);
    expect(midway).toMatchObject({ members: midway.job?.processed, createdEvents: midway.job?.processed });
    await deliver(job, 2);
    const after = await state(ws, job.id);
    expect(after).toMatchObject({
      job: { status: "completed", processed: all, created: all },
      members: all,
      createdEvents: all,
      distinctMembers: all,
    });
    expect(after.seqs).toEqual(after.seqs.map((_, i) => i + 1));
  });

  it("commits a chunk once when two deliveries race over it", async () => {
    const ws = await newWorkspace();
    const all = 1.2 * WINDOW_ROWS;
    const job = await recordUpload(ws, peopleCsv(all));
    const results = await Promise.all([
      processWindow(env, importMessage(job)),
      processWindow(env, importMessage(job)),
      processWindow(env, importMessage(job)),
    ]);
    expect(results.filter((r) => r.kind === "raced").length).toBeGreaterThan(0);
    await deliver(job);
    expect(await state(ws, job.id)).toMatchObject({
      job: { status: "completed", processed: all, created: all },
      members: all,
      createdEvents: all,
      distinctMembers: all,
    });
  });

  it("reads a chunk again when a member it would update changed meanwhile, keeping both changes", async () => {
    const ws = await newWorkspace();
    await rows(
      ws.id,
      "insert into members (id, workspace_id, name, email, role, type, status, labels, created_at, updated_at) values (?, ?, 'Before', 'raced@example.com', 'user', 'team', 'active', '[]', ?, ?)",
      "mem_raced",
      ws.id,
      "2026-01-01T00:00:00.000Z",
      "2026-01-01T00:00:00.000Z",
    );
    const job = await recordUpload(ws, csv("email,labels", "raced@example.com,imported"));
    // Another admin renames the member between the chunk's read and its batch.
    const racing = beforeFirstBatch(async () => {
      await (await shardDb(ws.id))
        .prepare("update members set name = 'Renamed meanwhile', updated_at = ? where id = 'mem_raced'")
        .bind(new Date().toISOString())
        .run();
    });
    expect((await processWindow(racing, importMessage(job))).kind).toBe("committed");
    const [member] = await rows<{ name: string; labels: string }>(
      ws.id,
      "select name, labels from members where id = 'mem_raced'",
    );
    expect(member).toEqual({ name: "Renamed meanwhile", labels: '["imported"]' });
  });
});

describe("an import whose chunks keep failing", () => {
  it("fails on the last attempt with D1's reason", async () => {
    const ws = await newWorkspace();
    const job = await recordUpload(ws, peopleCsv(3));
    const trigger = `refuse_${ws.id}`;
    await (await shardDb(ws.id))
      .prepare(
        `create trigger ${trigger} before insert on members when new.workspace_id = '${ws.id}'
       begin select raise(abort, 'refused by the test'); end`,
      )
      .run();
    try {
      expect((await deliver(job, MAX_ATTEMPTS)).explicitAcks).toHaveLength(1);
    } finally {
      await (await shardDb(ws.id)).prepare(`drop trigger ${trigger}`).run();
    }
    const [row] = await rows<{ status: string; error: string }>(
      ws.id,
      "select status, error from imports where id = ?",
      job.id,
    );
    expect(row?.status).toBe("failed");
    expect(row?.error).toContain("refused by the test");
  });
});
