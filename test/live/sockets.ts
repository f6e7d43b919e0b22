import { exports } from "cloudflare:workers";
import { parseServerMessage, type ServerMessage } from "../../worker/live/protocol";
import { waitFor } from "../wait";

const worker = (exports as unknown as { default: Fetcher }).default;

/** An open live socket and every message it has received so far, in order. */
export type LiveSocket = {
  ws: WebSocket;
  messages: ServerMessage[];
  closed: { code: number } | null;
  /** The `seq` of every event received, in arrival order. */
  seqs: () => number[];
};

/** Opens GET /v1/live as a WebSocket; answers the HTTP response when the upgrade is refused. */
export async function connectLive(options: {
  key?: string;
  after?: number;
  token?: string;
  headers?: Record<string, string>;
}) {
  const params = new URLSearchParams();
  if (options.after !== undefined) params.set("after", String(options.after));
  if (options.token) params.set("token", options.token);
  const headers: Record<string, string> = { ...options.headers, Upgrade: "websocket" };
  if (options.key) headers.Authorization = `Bearer ${options.key}`;
  const response = await worker.fetch(`http://localhost/v1/live?${params}`, { headers });
  const ws = response.webSocket;
  if (!ws) return { refused: response } as const;
  const socket: LiveSocket = {
    ws,
    messages: [],
    closed: null,
    seqs: () => socket.messages.flatMap((m) => ("seq" in m ? [m.seq] : [])),
  };
  ws.addEventListener("message", (event) => {
    const message = parseServerMessage(event.data);
    if (message) socket.messages.push(message);
  });
  ws.addEventListener("close", (event) => {
    socket.closed = { code: event.code };
  });
  ws.accept();
  return { socket } as const;
}

export const isReady = (socket: LiveSocket) => socket.messages.some((m) => "type" in m && m.type === "ready");

/** Opens a socket and waits for its `ready`. */
export async function openLive(options: {
  key?: string;
  after?: number;
  token?: string;
  headers?: Record<string, string>;
}) {
  const result = await connectLive(options);
  if (!result.socket) throw new Error(`refused: ${result.refused.status}`);
  const socket = result.socket;
  await waitFor("ready", () => isReady(socket));
  return socket;
}

export { range, waitFor } from "../wait";
