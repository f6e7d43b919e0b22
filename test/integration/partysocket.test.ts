import { WebSocket as ReconnectingWebSocket } from "partysocket";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isEvent, parseServerMessage } from "../../worker/live/protocol";
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

/** A new workspace through the platform API; answers its owner's API key. */
async function newWorkspace(slug: string): Promise<string> {
  const created = await api("/v1/workspaces", server.platformToken, {
    name: slug,
    slug,
    owner: { name: "Owner", email: `owner@${slug}.test` },
  });
  expect(created.status).toBe(201);
  return created.body.apiKey;
}

describe("the live stream under wrangler dev, through the real partysocket client", () => {
  it("delivers every change in order and resumes without a gap after the server restarts", async () => {
    const key = await newWorkspace("integration");
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

describe("a browser's live socket under wrangler dev", () => {
  it("closes with 4003 when the session whose ticket opened it logs out", async () => {
    const key = await newWorkspace("sign-out");
    const origin = { Origin: server.url, "Content-Type": "application/json" };
    const post = (path: string, body: unknown, cookie?: string) =>
      fetch(`${server.url}${path}`, {
        method: "POST",
        headers: cookie ? { ...origin, Cookie: cookie } : origin,
        body: JSON.stringify(body),
      });
    expect((await post("/v1/auth/login", { workspace: "sign-out", email: "owner@sign-out.test" })).status).toBe(202);
    const outbox = await api("/v1/outbox?to=owner%40sign-out.test", key);
    const token = /#token=([\w.-]+)/.exec(outbox.body.data[0].text)?.[1];
    const verified = await post("/v1/auth/verify", { token });
    expect(verified.status).toBe(200);
    const cookie = (verified.headers.getSetCookie()[0] ?? "").split(";")[0] ?? "";

    const ticket = await post("/v1/live/tickets", {}, cookie);
    expect(ticket.status).toBe(201);
    const { ticket: value } = (await ticket.json()) as { ticket: string };
    const socket = new WebSocket(`${server.url.replace("http", "ws")}/v1/live?token=${encodeURIComponent(value)}`);
    let ready = false;
    let closed: number | null = null;
    socket.addEventListener("message", (event) => {
      if (parseServerMessage(event.data)?.type === "ready") ready = true;
    });
    socket.addEventListener("close", (event) => {
      closed = event.code;
    });
    await waitFor("ready", () => ready, 30_000);

    expect((await post("/v1/auth/logout", {}, cookie)).status).toBe(204);
    // The server's close frame comes with the logout's poke (the socket is closing); Node's client
    // reports the close once the TCP connection ends, which takes ~10 s more under wrangler dev.
    await waitFor("the server's close", () => socket.readyState >= WebSocket.CLOSING, 10_000);
    await waitFor("the close", () => closed !== null, 30_000);
    expect(closed).toBe(4003);
  }, 60_000);
});
