import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { LiveTicket } from "../../durable-objects/workspace-live";
import { call, newWorkspace } from "../helpers";
import { connectLive, isReady, openLive, range, waitFor } from "./sockets";

/** The bound the test pool sets (vitest.config.ts): small enough to reach. */
const MAX = Number((env as unknown as { LIVE_MAX_SOCKETS: string }).LIVE_MAX_SOCKETS);

/** The tickets the workspace's object keeps, as stored. */
const storedTickets = (workspaceId: string) =>
  runInDurableObject(env.WORKSPACE.getByName(workspaceId), (_object, state) => [
    ...state.storage.kv.list<LiveTicket>({ prefix: "ticket:" }),
  ]);

describe("the live stream's bounds", () => {
  it("closes a socket past the workspace's bound with 1013 (try again later), and takes one again once another left", async () => {
    expect(MAX).toBeGreaterThan(0);
    const ws = await newWorkspace();
    const open = [];
    for (const _ of range(1, MAX)) open.push(await openLive({ key: ws.key }));
    const other = await newWorkspace();
    const past = await connectLive({ key: ws.key });
    const socket = past.socket;
    if (!socket) throw new Error("the upgrade was refused before the socket opened");
    await waitFor("the close", () => socket.closed !== null);
    expect(socket.closed?.code).toBe(1013);
    expect(isReady(socket)).toBe(false);
    // The bound is per workspace.
    expect(isReady(await openLive({ key: other.key }))).toBe(true);

    open[0]?.ws.close();
    // The object sees the close a moment after the client sends it: retry, as clients do.
    await waitFor("a socket taken again", async () => {
      const again = await connectLive({ key: ws.key });
      const s = again.socket;
      if (!s) return false;
      await waitFor("ready or a close", () => isReady(s) || s.closed !== null);
      return isReady(s);
    });
  });

  it("deletes a ticket nobody redeemed from the object's storage once it has expired", async () => {
    const ws = await newWorkspace();
    const issued = await call("POST", "/v1/live/tickets", { key: ws.key });
    expect(issued.status).toBe(201);
    const [stored] = await storedTickets(ws.id);
    if (!stored) throw new Error("the ticket was not stored");
    // As if its 60 seconds had passed.
    await runInDurableObject(env.WORKSPACE.getByName(ws.id), (_object, state) => {
      state.storage.kv.put(stored[0], { ...stored[1], expiresAt: Date.now() - 1 });
    });
    expect(await runDurableObjectAlarm(env.WORKSPACE.getByName(ws.id))).toBe(true);
    expect(await storedTickets(ws.id)).toEqual([]);
    expect((await connectLive({ token: issued.body.ticket })).refused?.status).toBe(401);
  });

  it("keeps a ticket that has not expired until it is redeemed, once", async () => {
    const ws = await newWorkspace();
    const issued = await call("POST", "/v1/live/tickets", { key: ws.key });
    await runDurableObjectAlarm(env.WORKSPACE.getByName(ws.id));
    expect(await storedTickets(ws.id)).toHaveLength(1);
    expect(isReady(await openLive({ token: issued.body.ticket }))).toBe(true);
    expect(await storedTickets(ws.id)).toEqual([]);
  });
});
