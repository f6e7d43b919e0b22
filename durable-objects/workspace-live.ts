import { type Connection, type ConnectionContext, Server } from "partyserver";
import {
  CLOSE,
  type EphemeralMessage,
  MESSAGE,
  parseClientMessage,
  type ServerMessage,
} from "../web/src/live-protocol";
import type { CelPerson } from "../worker/access/cel";
import { runActions } from "../worker/actions/run";
import { type ResolutionCommand, runResolution } from "../worker/anonymous/resolve";
import { confirmSerially } from "../worker/credentials/confirm";
import { conditionContext, mayWatchMembers, stillMayWatch, subjectsOf } from "./access";
import { type EventRow, readEvents, workspaceHead } from "./event-log";

/** Who a socket belongs to; kept with the socket so it survives hibernation. */
export type Watcher = {
  memberId: string;
  role: string;
  keyId: string | null;
  scopes: readonly string[] | null;
  /** False while the socket replays missed events; broadcasts skip it until then. */
  live: boolean;
  /** The role's CEL condition (worker/access), if any: member events it excludes are not sent. */
  condition?: string | null;
  /** The watcher as the condition's `actor`, read with it. */
  actor?: CelPerson | null;
};

export type LiveTicket = Omit<Watcher, "live" | "condition" | "actor"> & { expiresAt: number };

/** The header through which the Worker, having authenticated the upgrade, names the watcher. */
export const WATCHER_HEADER = "x-live-watcher";

const PAGE = 500;
/** Safety net for a lost poke: while anyone watches, look at the log this often. */
const SWEEP_MS = 5_000;
const DELIVERED_KEY = "delivered";

/**
 * One per workspace. Broadcasts the workspace's event log, in `seq` order, to every
 * admin socket. Writers commit to D1 and then poke this object, which reads what is
 * new from D1; a lost poke is caught by the next poke or the sweep alarm, so nothing
 * committed goes unsent. `delivered` (the highest seq broadcast) is stored, so a
 * restart neither skips nor repeats a whole range.
 */
export class WorkspaceLive extends Server<Cloudflare.Env> {
  static override options = { hibernate: true };

  #delivered = 0;
  #running: Promise<void> | null = null;
  #again = false;

  // Loaded here, not in onStart: RPC methods such as poke() do not pass through
  // partyserver's initialisation, and a restarted object must not forget what it sent.
  constructor(ctx: DurableObjectState, env: Cloudflare.Env) {
    super(ctx, env);
    const stored = ctx.storage.kv.get<number>(DELIVERED_KEY);
    if (stored !== undefined) {
      this.#delivered = stored;
      return;
    }
    // First start: whoever connects later replays from D1, so nothing before now is owed.
    ctx.blockConcurrencyWhile(async () => {
      this.#delivered = await workspaceHead(env.DB, this.name);
      ctx.storage.kv.put(DELIVERED_KEY, this.#delivered);
    });
  }

  /** RPC from the Worker after a change committed: deliver what is new. */
  async poke(): Promise<void> {
    await this.#catchUp();
  }

  /** RPC: an ephemeral message (no seq) for every live socket, e.g. import progress. */
  async publish(message: EphemeralMessage): Promise<void> {
    this.#sendToLive(JSON.stringify(message satisfies ServerMessage));
  }

  /** RPC: merges and undoes of anonymous members, one at a time per workspace. */
  async resolveAnonymous(command: ResolutionCommand) {
    return runResolution(this.env.DB, command);
  }

  /** RPC: confirms a credential change, one at a time per workspace (worker/credentials/confirm.ts). */
  async confirmCredentialChange(workspaceId: string, tokenHash: string) {
    return confirmSerially(this.env.DB, workspaceId, tokenHash);
  }

  /** RPC: keeps a single-use ticket for a browser's upgrade; only its hash is the key. */
  async storeTicket(hash: string, ticket: LiveTicket): Promise<void> {
    this.ctx.storage.kv.put(`ticket:${hash}`, ticket);
  }

  /** RPC: takes the ticket out, so it works once; expired tickets answer null. */
  async redeemTicket(hash: string): Promise<LiveTicket | null> {
    const key = `ticket:${hash}`;
    const ticket = this.ctx.storage.kv.get<LiveTicket>(key);
    this.ctx.storage.kv.delete(key);
    return ticket && ticket.expiresAt > Date.now() ? ticket : null;
  }

  override onConnect(connection: Connection<Watcher>, ctx: ConnectionContext) {
    const header = ctx.request.headers.get(WATCHER_HEADER);
    const after = Number(new URL(ctx.request.url).searchParams.get("after") ?? Number.NaN);
    if (!header) {
      connection.close(1008, "unauthenticated");
      return;
    }
    connection.setState({ ...(JSON.parse(header) as Omit<Watcher, "live">), live: false });
    this.#ensureSweep();
    // Without `after` the socket starts at the head: nothing to replay.
    const from = Number.isSafeInteger(after) && after >= 0 ? after : this.#delivered;
    // Not awaited: the upgrade completes at once and the replay streams after it.
    this.ctx.waitUntil(this.#replay(connection, from));
  }

  override onMessage(connection: Connection<Watcher>, frame: string | ArrayBuffer) {
    const message = parseClientMessage(frame);
    if (message?.type === MESSAGE.ping) connection.send(JSON.stringify({ type: MESSAGE.pong } satisfies ServerMessage));
  }

  override async onAlarm() {
    await this.#catchUp();
    this.#ensureSweep();
  }

  /** Sends a new socket the events after `after` up to what others have had, then marks it live. */
  async #replay(connection: Connection<Watcher>, after: number) {
    const watcher = connection.state;
    if (!watcher) return;
    const context = await conditionContext(this.env.DB, this.name, watcher.memberId);
    connection.setState({ ...watcher, ...context });
    let cursor = after;
    while (cursor < this.#delivered) {
      const rows = await readEvents(this.env.DB, this.name, cursor, Math.min(PAGE, this.#delivered - cursor));
      if (rows.length === 0) break;
      for (const row of rows) {
        if (!context.condition || mayWatchMembers(context, subjectsOf(row.data))) connection.send(frame(row));
      }
      cursor = rows[rows.length - 1]?.seq ?? cursor;
    }
    // No await since the loop's last check: no broadcast can slip in between.
    const state = connection.state;
    if (!state) return;
    connection.setState({ ...state, live: true });
    connection.send(
      JSON.stringify({ type: MESSAGE.ready, head: Math.max(cursor, this.#delivered) } satisfies ServerMessage),
    );
  }

  /** One delivery loop at a time; a poke during a run makes it go round once more. */
  #catchUp(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      try {
        do {
          this.#again = false;
          await this.#deliverNew();
          // Actions read the same log (worker/actions/run.ts); their label changes are new events.
          if (await this.#runActions()) this.#again = true;
        } while (this.#again);
      } finally {
        this.#running = null;
      }
    })();
    return this.#running;
  }

  /**
   * Sends each page of new events in one pass over the sockets: per socket, every frame
   * of the page in order, and a note of whether the page touches its right to watch.
   */
  async #deliverNew() {
    for (;;) {
      const rows = await readEvents(this.env.DB, this.name, this.#delivered, PAGE);
      const last = rows.at(-1);
      if (!last) return;
      const frames = rows.map(frame);
      const touched = accessTouchedBy(rows);
      const affected: Connection<Watcher>[] = [];
      // Parsed only when some watcher's role has a condition, once per page.
      let subjects: ReturnType<typeof subjectsOf>[] | undefined;
      for (const connection of this.getConnections<Watcher>()) {
        const w = connection.state;
        if (!w) continue;
        if (w.live && w.condition) {
          subjects ??= rows.map((row) => subjectsOf(row.data));
          const seen = subjects;
          sendAll(
            connection,
            frames.filter((_, i) => mayWatchMembers(w, seen[i] ?? [])),
          );
        } else if (w.live) sendAll(connection, frames);
        if (touched.members.has(w.memberId) || touched.roles.has(w.role) || touched.keys.has(w.keyId ?? "")) {
          affected.push(connection);
        }
      }
      // The log has no gaps (see worker/events/append.ts), so the page ends the delivered run.
      this.#delivered = last.seq;
      this.ctx.storage.kv.put(DELIVERED_KEY, this.#delivered);
      await this.#recheck(affected);
      if (rows.length < PAGE) return;
    }
  }

  async #runActions(): Promise<boolean> {
    try {
      return await runActions(this.env, this.name);
    } catch (err) {
      // The cursor stays where it is: the next poke or sweep goes on from there.
      console.error(JSON.stringify({ actions: this.name, error: err instanceof Error ? err.stack : String(err) }));
      return false;
    }
  }

  #sendToLive(text: string) {
    for (const connection of this.getConnections<Watcher>()) {
      if (connection.state?.live) sendAll(connection, [text]);
    }
  }

  async #recheck(connections: Connection<Watcher>[]) {
    for (const connection of connections) {
      const w = connection.state;
      if (!w) continue;
      const role = await stillMayWatch(this.env.DB, this.name, w);
      if (role === null) {
        connection.close(CLOSE.accessRevoked, "access revoked");
        continue;
      }
      // The role's condition, or the watcher's own labels, may have changed.
      const context = await conditionContext(this.env.DB, this.name, w.memberId);
      const now = connection.state ?? w;
      connection.setState({ ...now, role, ...context });
    }
  }

  #ensureSweep() {
    if (this.ctx.getWebSockets().length === 0) return;
    this.ctx.storage.getAlarm().then((at) => {
      if (at === null) this.ctx.storage.setAlarm(Date.now() + SWEEP_MS);
    });
  }
}

/** Sends frames in order; a socket that died without our noticing must not stop the others. */
function sendAll(connection: Connection<Watcher>, frames: readonly string[]) {
  try {
    for (const text of frames) connection.send(text);
  } catch {
    connection.close(1011, "send failed");
  }
}

/** Members, roles and API keys whose events may change who may watch. */
function accessTouchedBy(rows: readonly EventRow[]) {
  const touched = { members: new Set<string>(), roles: new Set<string>(), keys: new Set<string>() };
  for (const row of rows) {
    const family = row.type.split(".")[0];
    if (family !== "member" && family !== "role" && row.type !== "api_key.revoked") continue;
    const data = JSON.parse(row.data) as {
      member?: { id?: string };
      role?: { key?: string };
      key?: string;
      id?: string;
    };
    if (family === "member" && data.member?.id) touched.members.add(data.member.id);
    const role = data.role?.key ?? data.key;
    if (family === "role" && role) touched.roles.add(role);
    if (row.type === "api_key.revoked" && data.id) touched.keys.add(data.id);
  }
  return touched;
}

/** An event as its wire frame; `data` is already JSON in D1 and is spliced in as is. */
function frame(row: EventRow): string {
  return `{"seq":${row.seq},"type":${JSON.stringify(row.type)},"at":${JSON.stringify(row.at)},"data":${row.data}}`;
}
