import { evictDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, vi } from "vitest";
import { eventsOf, shardDb } from "../db";
import { addMember, call, type Workspace } from "../helpers";

/** Webhook receivers live under this origin; the spy on fetch answers for them. */
export const HOOKS = "https://hooks.example.test";

export type Received = { url: string; body: string; headers: Record<string, string> };

/**
 * Mocks a webhook receiver (the pool has no fetchMock): a fresh URL under HOOKS whose
 * requests are recorded and answered by `answer` (200 by default), which may first do
 * something of its own (e.g. call the API). Deliveries for other tests' receivers, still
 * retrying, get 410; other requests pass through.
 */
export function mockReceiver(answer: (req: Received, n: number) => number | Promise<number> = () => 200) {
  const url = `${HOOKS}/${crypto.randomUUID()}`;
  const received: Received[] = [];
  const original = globalThis.fetch;
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    if (!request.url.startsWith(HOOKS)) return original(input, init);
    if (!request.url.startsWith(url)) return new Response("gone", { status: 410 });
    const req = { url: request.url, body: await request.text(), headers: Object.fromEntries(request.headers) };
    received.push(req);
    return new Response("ok", { status: await answer(req, received.length) });
  });
  return { url, received };
}

afterEach(() => {
  vi.restoreAllMocks();
});

export async function createAction(ws: Workspace, body: Record<string, unknown>) {
  const res = await call("POST", "/v1/actions", { key: ws.key, body: { name: "An action", ...body } });
  if (res.status !== 201) throw new Error(`action creation failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** A "Welcome" email action on member.created, its text "Welcome aboard". */
export const createWelcomeEmail = (ws: Workspace) =>
  createAction(ws, { name: "Welcome", trigger: "member.created", action: { type: "email", text: "Welcome aboard" } });

// biome-ignore lint/suspicious/noExplicitAny: tests read JSON bodies freely
export async function deliveries(ws: Workspace, actionId: string): Promise<any[]> {
  const res = await call("GET", `/v1/actions/${actionId}/deliveries?limit=100`, { key: ws.key });
  if (res.status !== 200) throw new Error(`deliveries failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.data;
}

/** Polls an async check until it holds. */
export async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Waits until nothing changes for a while: actions have settled. */
export async function settled(read: () => Promise<unknown>, quietMs = 600) {
  let last = JSON.stringify(await read());
  let since = Date.now();
  while (Date.now() - since < quietMs) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const now = JSON.stringify(await read());
    if (now !== last) {
      last = now;
      since = Date.now();
    }
  }
}

/**
 * Two actions undoing each other (one removes "x" when it is applied, the other adds it
 * back when it is removed), set off by labelling a member "x"; answers once it has settled.
 */
export async function settledUndoingLoop(ws: Workspace) {
  const remover = await createAction(ws, {
    trigger: "member.labeled",
    condition: `"x" in member.labels`,
    action: { type: "label", remove: ["x"] },
  });
  const adder = await createAction(ws, { trigger: "member.unlabeled", action: { type: "label", add: ["x"] } });
  const member = await addMember(ws, { email: "ann@example.test" });
  await call("POST", `/v1/members/${member.id}/labels`, { key: ws.key, body: { labels: ["x"] } });
  await eventually("the first run", async () => (await deliveries(ws, remover.id)).length >= 1);
  await settled(async () => (await eventsOf(ws.id)).length, 1000);
  return { remover, adder };
}

/** Moves the workspace's action cursor (worker/actions/run.ts) to `seq`. */
export const setCursor = async (ws: Workspace, seq: number) =>
  (await shardDb(ws.id)).prepare("update action_cursors set seq = ? where workspace_id = ?").bind(seq, ws.id).run();

/**
 * As if the workspace's object died after running the actions for the events from `seq`
 * on but before moving its cursor past them: it restarts and, poked, reads them again.
 */
export async function restartReadingFrom(ws: Workspace, seq: number) {
  await setCursor(ws, seq - 1);
  await evictDurableObject(env.WORKSPACE.getByName(ws.id));
  await env.WORKSPACE.getByName(ws.id).poke();
}
