import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { QUIET_MS } from "../../durable-objects/workspace-live";
import { createAction, eventually, mockReceiver } from "../actions/helpers";
import { logHead, shardDb } from "../db";
import { newWorkspace, type Workspace } from "../helpers";
import { configureSms, newNumber, postInbound, smsParams } from "../provider/twilio";
import { openLive, waitFor } from "./sockets";

/** What the workspace's object keeps: the end of the quiet time it last granted, and its alarm. */
const objectState = (ws: Workspace) =>
  runInDurableObject(env.WORKSPACE.getByName(ws.id), async (_object, state) => ({
    quietUntil: state.storage.kv.get<number>("quietUntil") ?? 0,
    alarm: await state.storage.getAlarm(),
  }));

const head = (ws: Workspace) => logHead(ws.id);

const actionCursor = async (ws: Workspace) =>
  (
    await (
      await shardDb(ws.id)
    )
      .prepare("select seq from action_cursors where workspace_id = ?")
      .bind(ws.id)
      .first<{ seq: number }>()
  )?.seq ?? 0;

/**
 * An event committed with no poke, as by a Worker (another isolate) that received an SMS
 * during the quiet time it was granted: a member.created of the workspace's owner.
 */
async function commitSkippingPoke(ws: Workspace) {
  const seq = (await head(ws)) + 1;
  await (await shardDb(ws.id))
    .prepare(
      `insert into events (workspace_id, seq, type, at, data)
     select workspace_id, ?, 'member.created', ?, json_object('member', json(json)) from members where workspace_id = ? limit 1`,
    )
    .bind(seq, new Date().toISOString(), ws.id)
    .run();
  return seq;
}

/** A workspace with SMS set up, whose object granted quiet time after a first text. */
async function quietWorkspace() {
  const ws = await newWorkspace();
  await configureSms(ws);
  const before = Date.now();
  expect((await postInbound(ws.id, "sms", smsParams(newNumber(), "hello"))).status).toBe(200);
  await eventually("quiet time granted", async () => (await objectState(ws)).quietUntil > 0);
  const { quietUntil } = await objectState(ws);
  expect(quietUntil).toBeGreaterThanOrEqual(before + QUIET_MS);
  return { ws, quietUntil };
}

describe("quiet time: texts while nobody watches", () => {
  it("is granted only when no socket is open", async () => {
    const ws = await newWorkspace();
    await configureSms(ws);
    const socket = await openLive({ key: ws.key });
    const seq = (await head(ws)) + 2;
    expect((await postInbound(ws.id, "sms", smsParams(newNumber(), "hi"))).status).toBe(200);
    await waitFor("the message", () => socket.seqs().includes(seq));
    expect((await objectState(ws)).quietUntil).toBe(0);
  });

  it("a socket that connects during it gets the writes whose pokes were skipped, when it ends", async () => {
    const { ws, quietUntil } = await quietWorkspace();
    const socket = await openLive({ key: ws.key });
    const seq = await commitSkippingPoke(ws);
    // Woken at the end of the quiet time, not at the sweep 5 s after the socket came.
    await eventually("the wake-up", async () => ((await objectState(ws)).alarm ?? Infinity) <= quietUntil + 250);
    await waitFor("the skipped write", () => socket.seqs().includes(seq), 4_000);
  });

  it("an action created during it runs for the writes whose pokes were skipped, when it ends", async () => {
    const { url, received } = mockReceiver();
    const { ws } = await quietWorkspace();
    await createAction(ws, { trigger: "member.created", action: { type: "webhook", url } });
    // The creation's own poke has run the actions up to the log's head.
    const created = await head(ws);
    await eventually("the creation's poke", async () => (await actionCursor(ws)) >= created);
    const seq = await commitSkippingPoke(ws);
    // No socket, no later write and no cron here: only the wake-up can run it.
    await eventually("the action's delivery", async () => received.length === 1);
    expect(JSON.parse(received[0]?.body ?? "{}")).toMatchObject({ type: "member.created" });
    expect(await actionCursor(ws)).toBeGreaterThanOrEqual(seq);
  });
});
