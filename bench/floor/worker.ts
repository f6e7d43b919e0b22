/**
 * The floor for `npm run bench:live`: a Durable Object that does nothing but fan a
 * message out to its sockets, so the live stream's latency can be read against the
 * least the runtime needs for the same broadcast.
 */
import { Server } from "partyserver";

// Hand-written rather than from `wrangler types`: this worker has one binding and lives
// outside the project's type-check (see ./tsconfig.json).
type Env = { FLOOR: DurableObjectNamespace<Floor> };

export class Floor extends Server<Env> {
  static override options = { hibernate: true };

  /** RPC: sends every socket one frame of exactly `bytes` bytes that carries `seq`. */
  async send(seq: number, bytes: number): Promise<void> {
    this.broadcast(payload(seq, bytes));
  }
}

/** A frame shaped like a live event, padded with ASCII so its length in bytes is `bytes`. */
function payload(seq: number, bytes: number): string {
  const head = `{"seq":${seq},"type":"floor","at":"${new Date().toISOString()}","data":"`;
  return `${head}${"x".repeat(Math.max(0, bytes - head.length - 2))}"}`;
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const floor = env.FLOOR.getByName("floor");
    if (url.pathname === "/ws") return floor.fetch(request);
    if (url.pathname === "/broadcast" && request.method === "POST") {
      await floor.send(Number(url.searchParams.get("seq")), Number(url.searchParams.get("bytes")));
      return new Response(null, { status: 204 });
    }
    if (url.pathname === "/healthz") return Response.json({ ok: true });
    return new Response("not found", { status: 404 });
  },
} satisfies ExportedHandler<Env>;
