import { WebSocket as ReconnectingWebSocket } from "partysocket";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isEvent, parseServerMessage } from "../../web/src/live-protocol";
import { range, waitFor } from "../wait";
import { type DevServer, startDevServer } from "./dev-server";

let server: DevServer;

beforeAll(async () => {
  server = await startDevServer();
}, 120_000);

afterAll(async () => {
  await server?.stop();
});

async function api(path: string, key: string, body?: unknown) {
  const res = await fetch(`${server.url}${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

describe("the live stream under wrangler dev, through the real partysocket client", () => {
  it("delivers every change in order and resumes without a gap after the server restarts", async () => {
    const created = await api("/v1/workspaces", server.platformToken, {
      name: "Integration",
      slug: "integration",
      owner: { name: "Owner", email: "owner@integration.test" },
    });
    expect(created.status).toBe(201);
    const key: string = created.body.apiKey;
    const seqs: number[] = [];
    let readies = 0;
    let head = 0;
    // Like the admin view: a fresh single-use ticket per (re)connect, resuming after the last seq seen.
    const socket = new ReconnectingWebSocket(
      async () => {
        const { body } = await api("/v1/live/tickets", key, {});
        const after = seqs.at(-1) ?? 0;
        return `${server.url.replace("http", "ws")}/v1/live?after=${after}&token=${encodeURIComponent(body.ticket)}`;
      },
      [],
      { minReconnectionDelay: 200, maxReconnectionDelay: 1000 },
    );
    socket.addEventListener("message", (event) => {
      const message = parseServerMessage(event.data);
      if (!message) return;
      if (isEvent(message)) seqs.push(message.seq);
      else if (message.type === "ready") {
        readies++;
        head = message.head;
      }
    });
    await waitFor("ready", () => readies === 1, 30_000);
    const start = head;
    expect(seqs).toEqual(range(1, start));

    for (let i = 0; i < 5; i++) await api("/v1/members", key, { name: `Before ${i}`, email: `b${i}@x.test` });
    await waitFor("five events", () => seqs.length === start + 5, 30_000);

    await server.restart();
    for (let i = 0; i < 5; i++) await api("/v1/members", key, { name: `After ${i}`, email: `a${i}@x.test` });
    await waitFor("the reconnect", () => readies === 2, 30_000);
    await api("/v1/members", key, { name: "Live again", email: "live@x.test" });
    await waitFor("all events", () => seqs.length === start + 11, 30_000);
    socket.close();
    expect(seqs).toEqual(range(1, start + 11));
  }, 180_000);
});
