import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { type Shards, startMove } from "../../worker/moves/engine";
import { MoveRefused } from "../../worker/moves/shape";
import { MOVED_TABLES } from "../../worker/moves/tables";
import { captureTriggers } from "../../worker/moves/triggers";
import { addMember, call } from "../helpers";
import {
  MoveDriver,
  mortalShards,
  pair,
  richWorkspace,
  rowCount,
  swapEmails,
  swapExternalIds,
  workspaceRows,
  writer,
} from "./helpers";

/**
 * The move engine (worker/moves/engine.ts) between two shards: SHARD_0, where the Worker
 * serves the workspace (the directory says so throughout), and SHARD_1. Writes go through the API between the move's
 * steps; batches of at most 7 rows make every table take several steps.
 */
let shards: Shards;
const options = { bounds: { min: 2, max: 7 }, graceMs: 0 };

beforeAll(async () => {
  shards = pair();
});

const noMarkerOrChanges = async (d1: D1Database, workspaceId: string) => ({
  marker: await d1.prepare("select frozen from moving_workspaces where workspace_id = ?1").bind(workspaceId).first(),
  changes: (
    await d1.prepare("select count(*) as n from move_changes where workspace_id = ?1").bind(workspaceId).first<{
      n: number;
    }>()
  )?.n,
});

// Moves of many small steps, with writes between them, on a shared machine.
describe("moving a workspace between shards", { timeout: 180_000 }, () => {
  it("copies every row while the workspace keeps taking writes, and the target's triggers rebuild its index rows", async () => {
    const { ws, members } = await richWorkspace();
    const write = writer(ws, members);
    const move = await MoveDriver.start(shards, ws.id, options);
    const phases = new Set<string>();
    await move.until("caught-up", async (cursor) => {
      phases.add(cursor.phase);
      await write();
    });
    expect([...phases]).toEqual(expect.arrayContaining(["copy", "drain"]));
    await move.until("drained");
    const source = await workspaceRows(env.SHARD_0, ws.id);
    expect(await workspaceRows(shards.target, ws.id)).toEqual(source);
    // Every kind of row was there to move.
    for (const [table, rows] of Object.entries(source)) expect(rows.length, table).toBeGreaterThan(0);
    expect(move.cursor.copied).toBeGreaterThan(0);
    expect(move.cursor.drained).toBeGreaterThan(0);
  });

  it("drains members who swapped emails and external ids during the copy as the source has them", async () => {
    const { ws } = await richWorkspace();
    const early = await addMember(ws, { name: "Early Swapper", email: `early@${ws.slug}.test`, externalId: "x-early" });
    for (let i = 0; i < 20; i++) await addMember(ws, { name: `Filler ${i}`, email: `f${i}@${ws.slug}.test` });
    const late = await addMember(ws, { name: "Late Swapper", email: `late@${ws.slug}.test`, externalId: "x-late" });
    const move = await MoveDriver.start(shards, ws.id, options);
    // The early member is copied, the late one not yet: the late one's copy then meets the early one's old values.
    const membersTable = MOVED_TABLES.findIndex((t) => t.name === "members");
    await move.until("copy");
    while (!(move.cursor.table === membersTable && move.cursor.position !== null)) await move.next();
    await swapEmails(ws, early, late);
    await swapExternalIds(ws, { id: early.id, externalId: "x-early" }, { id: late.id, externalId: "x-late" });
    await move.until("caught-up");
    // And once more after the copy: both rows are then on the target with the old values.
    await swapEmails(ws, { id: early.id, email: late.email }, { id: late.id, email: early.email });
    await move.until("drained");
    const target = await workspaceRows(shards.target, ws.id);
    expect(target).toEqual(await workspaceRows(env.SHARD_0, ws.id));
    const emailOf = (id: string) => (target.members as { id: string; email: string }[]).find((m) => m.id === id)?.email;
    expect([emailOf(early.id), emailOf(late.id)]).toEqual([early.email, late.email]);
  });

  it("refuses writes of the frozen workspace on the source with workspace_moved, writing nothing", async () => {
    const { ws, members } = await richWorkspace();
    const move = await MoveDriver.start(shards, ws.id, options);
    await move.until("caught-up");
    await move.next(); // the freeze
    expect(move.cursor.phase).toBe("frozen");
    const before = await workspaceRows(env.SHARD_0, ws.id);
    const refused = [
      await call("PATCH", `/v1/members/${members[0]?.id}`, { key: ws.key, body: { name: "Too Late" } }),
      await call("POST", "/v1/members", { key: ws.key, body: { name: "Too Late", email: `late@${ws.slug}.test` } }),
      await call("POST", "/v1/labels", { key: ws.key, body: { name: "Late" } }),
    ];
    for (const res of refused) {
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe("workspace_moved");
      expect(res.headers.get("Retry-After")).toBe("1");
    }
    expect(await workspaceRows(env.SHARD_0, ws.id)).toEqual(before);
    expect((await noMarkerOrChanges(env.SHARD_0, ws.id)).changes).toBe(0);
  });

  it("deletes the old copy after the switch and keeps the source frozen for the workspace", async () => {
    const { ws, members } = await richWorkspace();
    const write = writer(ws, members);
    const move = await MoveDriver.start(shards, ws.id, options);
    await move.until("caught-up", write);
    await move.until("drained");
    const moved = await workspaceRows(env.SHARD_0, ws.id);
    await move.until("done");
    expect(rowCount(await workspaceRows(env.SHARD_0, ws.id))).toBe(0);
    expect(await workspaceRows(shards.target, ws.id)).toEqual(moved);
    expect(await noMarkerOrChanges(env.SHARD_0, ws.id)).toEqual({ marker: { frozen: 1 }, changes: 0 });
    expect(move.cursor.deleted).toBe(rowCount(moved) - indexRows(moved));
    // A late write of the workspace's rows on the old shard (an isolate that still thinks it
    // lives there) fails, and leaves nothing there.
    const late = env.SHARD_0.prepare(
      "insert into labels (workspace_id, slug, name, created_at) values (?1, 'late', 'Late', '')",
    )
      .bind(ws.id)
      .run();
    await expect(late).rejects.toThrow("workspace_moved");
    expect(rowCount(await workspaceRows(env.SHARD_0, ws.id))).toBe(0);
  });

  it("moves a workspace back to a shard that still has its old copy", async () => {
    const { ws } = await richWorkspace();
    const there = await MoveDriver.start(shards, ws.id, options, `mov_there_${ws.id}`);
    await there.until("drained");
    const back = await MoveDriver.start(
      { source: shards.target, target: env.SHARD_0 },
      ws.id,
      options,
      `mov_back_${ws.id}`,
    );
    // The old copy on env.SHARD_0 (frozen, not deleted yet) is cleared before the copy back.
    await back.until("drained");
    expect(await workspaceRows(env.SHARD_0, ws.id)).toEqual(await workspaceRows(shards.target, ws.id));
    expect(await noMarkerOrChanges(env.SHARD_0, ws.id)).toEqual({ marker: null, changes: 0 });
  });

  it("rolls a move back before its switch: the source takes writes again and the target keeps nothing", async () => {
    const { ws, members } = await richWorkspace();
    const write = writer(ws, members);
    const move = await MoveDriver.start(shards, ws.id, options);
    await move.until("drain", write);
    await move.until("caught-up");
    await move.next(); // frozen
    await move.rollback();
    expect(rowCount(await workspaceRows(shards.target, ws.id))).toBe(0);
    expect(await noMarkerOrChanges(env.SHARD_0, ws.id)).toEqual({ marker: null, changes: 0 });
    const res = await call("PATCH", `/v1/members/${members[0]?.id}`, { key: ws.key, body: { name: "Back Again" } });
    expect(res.status).toBe(200);
  });

  it("resumes from its stored cursor after a crash at any point of any step, to the same end", async () => {
    const { ws, members } = await richWorkspace();
    const write = writer(ws, members);
    // Each action (the start, a step, the freeze) dies once, after its 1st, 2nd, ... 6th D1
    // call in turn for its phase (an action of fewer calls then finishes), and is retried from
    // the cursor stored before it: over the move, every point of every kind of step.
    const mortal = mortalShards(shards);
    const actions = new Map<string, number>();
    MoveDriver.beforeAttempt = (retry, phase) => {
      const n = actions.get(phase) ?? 0;
      actions.set(phase, n + 1);
      mortal.arm(retry ? null : 1 + (n % 6));
    };
    try {
      const move = await MoveDriver.start(mortal.shards, ws.id, options);
      await move.until("caught-up", async () => write());
      await move.until("drained");
      const moved = await workspaceRows(env.SHARD_0, ws.id);
      expect(await workspaceRows(shards.target, ws.id)).toEqual(moved);
      await move.until("done");
      expect(rowCount(await workspaceRows(env.SHARD_0, ws.id))).toBe(0);
      expect(await workspaceRows(shards.target, ws.id)).toEqual(moved);
      expect(new Set(move.killedIn)).toEqual(
        new Set(["start", "clear-target", "copy", "drain", "caught-up", "frozen", "delete-old"]),
      );
    } finally {
      MoveDriver.beforeAttempt = () => {};
    }
  });

  it("refuses to start a second move of a workspace, or one from a shard it does not live on", async () => {
    const { ws } = await richWorkspace();
    await MoveDriver.start(shards, ws.id, options, `mov_first_${ws.id}`);
    await expect(startMove(shards, { moveId: `mov_second_${ws.id}`, workspaceId: ws.id })).rejects.toThrow(MoveRefused);
    const { ws: other } = await richWorkspace();
    await expect(
      startMove({ source: shards.target, target: env.SHARD_0 }, { moveId: `mov_${other.id}`, workspaceId: other.id }),
    ).rejects.toThrow(MoveRefused);
  });
});

describe("the move triggers", () => {
  it("are on every moved table as captureTriggers writes them", async () => {
    for (const d1 of [env.SHARD_0, shards.target]) {
      const { results } = await d1
        .prepare(
          "select tbl_name as tbl, sql from sqlite_master where type = 'trigger' and name like 'move\\_%' escape '\\'",
        )
        .all<{ tbl: string; sql: string }>();
      const installed = results.map((r) => `${r.tbl}: ${r.sql}`).sort();
      const expected = MOVED_TABLES.flatMap((t) => captureTriggers(t).map((sql) => `${t.name}: ${sql}`)).sort();
      expect(installed).toEqual(expected);
    }
  });
});

/** The index rows (members_by_*) among `rows`: deleted by the members' triggers, not counted by the move. */
function indexRows(rows: Record<string, unknown[]>) {
  return ["members_by_label", "members_by_label_pair", "members_by_term"].reduce(
    (n, t) => n + (rows[t]?.length ?? 0),
    0,
  );
}
