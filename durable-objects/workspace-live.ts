import { type Connection, type ConnectionContext, Server } from "partyserver";
import { runActions } from "../worker/actions/run";
import { type ResolutionCommand, type ResolutionResult, runResolution } from "../worker/anonymous/resolve";
import type { CelPerson } from "../worker/cel/cel";
import { type ConfirmResult, confirmSerially } from "../worker/credentials/confirm";
import { watchedFamilies } from "../worker/events/families";
import { followsEveryImport } from "../worker/imports/reach";
import { isBookmark, newerBookmark } from "../worker/lib/d1-sessions";
import type { D1Queries } from "../worker/lib/db";
import { errorForLog } from "../worker/lib/errors";
import { CLOSE, type EphemeralMessage, MESSAGE, parseClientMessage, type ServerMessage } from "../worker/live/protocol";
import { stepMove } from "../worker/moves/drive";
import { type Counted, countRequest, forgetEndedWindows, WINDOW_SECONDS } from "../worker/rate-limits/counter";
import type { Scope } from "../worker/roles/scopes";
import { forgetShard, shardOf } from "../worker/shards/directory";
import { type EventRow, headAndActions, readEvents, workspaceHead } from "./event-log";
import { Page } from "./page";
import { watcherNow } from "./watcher";

/** Who a socket belongs to; kept with the socket so it survives hibernation. */
export type Watcher = {
  memberId: string;
  role: string;
  /** The API key it was opened with (directly, or through a ticket the key minted): revoking it ends the socket. */
  keyId: string | null;
  /**
   * The session (its id, never its token) it was opened with, directly or through a ticket
   * the session minted: logging out ends the socket (`session.ended`).
   */
  sessionId: string | null;
  /** False while the socket replays missed events; broadcasts skip it until then. */
  live: boolean;
  /**
   * What its scopes grant now (the role's, narrowed by the key's): each family of events goes
   * only to holders of its read scope (worker/events/families.ts, ./page.ts). Unset until
   * the object reads its access.
   */
  granted?: readonly Scope[];
  /**
   * Whether its scopes grant members:admin: without it,
   * events about anonymous, merged or expired members are not sent, as REST refuses them
   * (worker/anonymous/access.ts, ./page.ts). Unset until the object reads its access.
   */
  seesAnonymous?: boolean;
  /** The role's CEL condition (worker/reach), if any: events about members it excludes are not sent (./page.ts). */
  condition?: string | null;
  /** The watcher as the condition's `actor`, read with it. */
  actor?: CelPerson | null;
  /** When its key or session expires (ms): the sweep closes the socket then. Unset until the object reads its access. */
  credentialExpiresAt?: number;
};

/** What a ticket keeps: who minted it, through which credential. */
export type LiveTicket = Pick<Watcher, "memberId" | "role" | "keyId" | "sessionId"> & { expiresAt: number };

/** What a write the object made answers besides its result: the bookmark it committed at, when known. */
type Committed = { bookmark?: string };

/** The header through which the Worker, having authenticated the upgrade, names the watcher. */
export const WATCHER_HEADER = "x-live-watcher";

const PAGE = 500;
/** Safety net for a lost poke: while anyone watches, look at the log this often. */
const SWEEP_MS = 5_000;
export const DELIVERED_KEY = "delivered";
/** How long a poke may tell a Worker that no poke is needed (worker/live/poke.ts pokeUnlessQuiet). */
export const QUIET_MS = 1_000;
/** For clocks of the Worker and the object that differ a little. */
const QUIET_MARGIN_MS = 250;
const QUIET_KEY = "quietUntil";
/** Set while a move of the workspace runs: the alarm steps it (worker/moves/drive.ts). */
const MOVING_KEY = "moving";
/** How long after a failed move step the next try comes. */
const MOVE_RETRY_MS = 1_000;
const BOOKMARK_KEY = "bookmark";
const TICKET_PREFIX = "ticket:";

/** `LIVE_MAX_SOCKETS` is an optional var (wrangler.toml `[vars]`), so `Env` does not list it. */
type LiveEnv = Cloudflare.Env & Partial<{ LIVE_MAX_SOCKETS: string }>;
export const DEFAULT_MAX_SOCKETS = 2_000;

/** How many sockets a workspace may have open: LIVE_MAX_SOCKETS when a whole number from 1, else 2,000. */
export function maxSockets(env: Partial<LiveEnv>): number {
  const max = Number(env.LIVE_MAX_SOCKETS);
  return Number.isSafeInteger(max) && max >= 1 ? max : DEFAULT_MAX_SOCKETS;
}

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
  /** Set by a poke's read that found no action in the workspace: that round runs none. */
  #noActions = false;
  /** The last read found no socket and no action: a poke may be answered with quiet time. */
  #quiet = false;
  /**
   * The end of the latest quiet time granted (stored): until a read after it, writes may
   * have committed without a poke, and whoever needs them (a socket, an action) must
   * have them read when it ends.
   */
  #quietUntil = 0;
  #alarmChange: Promise<void> = Promise.resolve();
  /**
   * The newest bookmark of the workspace's D1 the object knows (stored with `delivered`): a
   * poke's (the writer's session had committed there) or one its own reads reached. Its reads run in
   * sessions that start there at least, so a replica that lags behind a commit it was told
   * of, or behind what it has delivered, waits for it instead of ending the log early.
   * Unset: its next read starts on the primary. (A bookmark names a point in one
   * database's history: were the workspace to move to another database, it would be
   * forgotten.)
   */
  #bookmark: string | undefined;
  /** A poke without a bookmark (a write through the binding) or a sweep came: the next round reads the primary. */
  #fromPrimary = false;
  /**
   * The workspace's shard (worker/shards), read from the directory once and kept: a move's
   * switch, serialized here, tells the object (`shardChanged`), so none of its reads goes
   * to a shard the workspace has left.
   */
  #shard: Promise<D1Database> | null = null;
  /** The rate limit window whose ended predecessors were last dropped (../worker/rate-limits/counter.ts). */
  #rateWindow = 0;

  // Loaded here, not in onStart: RPC methods such as poke() do not pass through
  // partyserver's initialisation, and a restarted object must not forget what it sent.
  constructor(ctx: DurableObjectState, env: Cloudflare.Env) {
    super(ctx, env);
    this.#quietUntil = ctx.storage.kv.get<number>(QUIET_KEY) ?? 0;
    this.#bookmark = ctx.storage.kv.get<string>(BOOKMARK_KEY);
    const stored = ctx.storage.kv.get<number>(DELIVERED_KEY);
    if (stored !== undefined) {
      this.#delivered = stored;
      return;
    }
    // First start: whoever connects later replays from D1, so nothing before now is owed.
    ctx.blockConcurrencyWhile(async () => {
      const db = await this.#session(true);
      this.#setDelivered(await workspaceHead(db, this.name), db);
    });
  }

  /** The workspace's shard, as the directory says (kept until `shardChanged`). */
  #d1(): Promise<D1Database> {
    this.#shard ??= shardOf(this.env, this.name).then((shard) => {
      if (!shard) throw new Error(`workspace ${this.name} is in no shard`);
      return shard.d1;
    });
    // A failed read is not kept: the next call asks the directory again.
    this.#shard.catch(() => {
      this.#shard = null;
    });
    return this.#shard;
  }

  /**
   * RPC: the workspace's shard changed (a move switched it): the next read asks the
   * directory again, bypassing this isolate's cache of it. The bookmark known names a point
   * in the old shard's history, so it is forgotten and the next round reads the primary.
   */
  async shardChanged(): Promise<void> {
    forgetShard(this.name);
    this.#shard = null;
    this.#bookmark = undefined;
    this.#fromPrimary = true;
    this.ctx.storage.kv.delete(BOOKMARK_KEY);
  }

  /**
   * RPC from the Worker after a change committed: deliver what is new, reading at least at
   * `readFrom`, the committing session's bookmark (worker/live/poke.ts), or from the primary
   * without one. Answers how long the Worker may skip pokes that can wait (0: none may).
   */
  async poke(readFrom?: string): Promise<{ quietMs: number }> {
    if (readFrom === undefined) this.#fromPrimary = true;
    else this.#learn(readFrom);
    await this.#catchUp();
    return { quietMs: this.#grantQuiet() };
  }

  /**
   * RPC from the Worker for each `/v1` request of a credential of the workspace
   * (worker/rate-limits/limit.ts): counts it against `limit` a minute, or refuses it.
   * One request at a time, so the count is exact.
   */
  async countRequest(credential: string, limit: number): Promise<Counted> {
    const now = Date.now();
    const window = Math.floor(now / (WINDOW_SECONDS * 1000));
    if (window !== this.#rateWindow) {
      this.#rateWindow = window;
      forgetEndedWindows(this.ctx.storage.kv, now);
    }
    return countRequest(this.ctx.storage.kv, credential, limit, now);
  }

  /**
   * RPC: an import's progress (ephemeral, no seq) for the live sockets of its importer and
   * of those who follow every import (worker/imports/reach.ts), judged on the watcher's
   * access as last read (as events are).
   */
  async publish(message: EphemeralMessage, importer: string): Promise<void> {
    const text = JSON.stringify(message satisfies ServerMessage);
    for (const connection of this.getConnections<Watcher>()) {
      const w = connection.state;
      if (w?.live && (w.memberId === importer || followsEveryImport(!!w.seesAnonymous, w.condition))) {
        sendAll(connection, [text]);
      }
    }
  }

  /**
   * RPC: merges and undoes of anonymous members, one at a time per workspace. Read and
   * written through the shard's binding (the primary); a change answers the bookmark it committed
   * at, for the Worker's answer and poke (`#bookmarkAfter`).
   */
  async resolveAnonymous(command: ResolutionCommand): Promise<ResolutionResult & Committed> {
    const result = await runResolution(await this.#d1(), command);
    return result.ok ? { ...result, bookmark: await this.#bookmarkAfter() } : result;
  }

  /** RPC: confirms a credential change, one at a time per workspace (worker/credentials/confirm.ts); as `resolveAnonymous`. */
  async confirmCredentialChange(workspaceId: string, tokenHash: string): Promise<ConfirmResult & Committed> {
    const result = await confirmSerially(await this.#d1(), workspaceId, tokenHash);
    return result.ok ? { ...result, bookmark: await this.#bookmarkAfter() } : result;
  }

  /**
   * RPC: keeps a single-use ticket for a browser's upgrade; only its hash is the key. The
   * alarm deletes it when it expires unredeemed (`#pruneTickets`).
   */
  async storeTicket(hash: string, ticket: LiveTicket): Promise<void> {
    this.ctx.storage.kv.put(`${TICKET_PREFIX}${hash}`, ticket);
    this.#wakeBy(ticket.expiresAt);
  }

  /** RPC: takes the ticket out, so it works once; expired tickets answer null. */
  async redeemTicket(hash: string): Promise<LiveTicket | null> {
    const key = `${TICKET_PREFIX}${hash}`;
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
    // Counted with this one (partyserver accepts a socket before onConnect). Past the bound
    // every broadcast would cost the object more than it can give: the client retries later.
    if ([...this.getConnections()].length > maxSockets(this.env)) {
      connection.close(CLOSE.tryAgainLater, "too many live sockets in this workspace; try again later");
      return;
    }
    connection.setState({ ...(JSON.parse(header) as Omit<Watcher, "live">), live: false });
    this.#ensureSweep();
    this.#wakeAfterQuiet();
    // Without `after` the socket starts at the head: nothing to replay.
    const from = Number.isSafeInteger(after) && after >= 0 ? after : this.#delivered;
    // Not awaited: the upgrade completes at once and the replay streams after it.
    this.ctx.waitUntil(this.#replay(connection, from));
  }

  override onMessage(connection: Connection<Watcher>, frame: string | ArrayBuffer) {
    const message = parseClientMessage(frame);
    if (message?.type === MESSAGE.ping) connection.send(JSON.stringify({ type: MESSAGE.pong } satisfies ServerMessage));
  }

  /** RPC: a move of the workspace started (worker/moves/drive.ts): its steps run on the alarm. */
  async driveMove(): Promise<void> {
    this.ctx.storage.kv.put(MOVING_KEY, true);
    this.#wakeBy(Date.now());
  }

  /**
   * One step of the workspace's move, when one runs: the alarm that follows runs the next,
   * so a restarted object goes on from the cursor stored last. A failed step is tried
   * again a second later (each step is repeatable: ./engine.ts).
   */
  async #stepMove() {
    if (!this.ctx.storage.kv.get<boolean>(MOVING_KEY)) return;
    try {
      const next = await stepMove(this.env, this.name, {
        serialized: (run) => this.ctx.blockConcurrencyWhile(run),
        shardChanged: () => this.shardChanged(),
      });
      if (next === null) this.ctx.storage.kv.delete(MOVING_KEY);
      else this.#wakeBy(next);
    } catch (err) {
      console.error(JSON.stringify({ move: this.name, error: errorForLog(err) }));
      this.#wakeBy(Date.now() + MOVE_RETRY_MS);
    }
  }

  override async onAlarm() {
    await this.#stepMove();
    this.#pruneTickets();
    await this.#endLapsed();
    // The sweep is for a lost poke, whose bookmark it never got.
    this.#fromPrimary = true;
    await this.#catchUp();
    this.#ensureSweep();
    // Woken before a quiet time's end (the sweep came first): wake again at its end.
    this.#wakeAfterQuiet();
  }

  /**
   * Sends a new socket the events after `after` up to what others have had, then marks it
   * live. Access is checked again first: the Worker's check came before the socket was
   * registered here, so a revocation in between would otherwise go unseen. A failure
   * closes the socket, so the client reconnects with `after` instead of waiting forever.
   */
  async #replay(connection: Connection<Watcher>, after: number) {
    try {
      const initial = connection.state;
      if (!initial) return;
      const access = await watcherNow(await this.#session(), this.name, initial);
      if (access === null) {
        connection.close(CLOSE.accessRevoked, "access revoked");
        return;
      }
      let watcher: Watcher | null = { ...initial, ...access };
      connection.setState(watcher);
      let cursor = after;
      let touched = false;
      while (cursor < this.#delivered) {
        // A session per page, from the bookmark known now: `delivered` may move on while the
        // replay runs, and the bookmark learnt with it covers it.
        const db = await this.#session();
        const rows = await readEvents(db, this.name, cursor, Math.min(PAGE, this.#delivered - cursor));
        if (rows.length === 0) break;
        // The log has no gaps (../worker/events/append.ts) but its oldest events may be gone
        // (../worker/events/retention.ts deletes a prefix): the client missed them, so it is told.
        const first = rows[0];
        if (first && first.seq > cursor + 1) {
          connection.send(JSON.stringify({ type: MESSAGE.reset, oldest: first.seq } satisfies ServerMessage));
        }
        // Up to the first event that may change what the watcher reaches (its reach may have
        // changed since it was read, while this replay ran): what follows is judged after a new read.
        const w: Watcher = watcher;
        const touch = rows.findIndex((row) => touches(reachTouchOf(row), w));
        const page = new Page(touch === -1 ? rows : rows.slice(0, touch + 1));
        await page.prepare(db, this.name, [w]);
        sendAll(connection, page.framesFor(w, 0, page.rows.length));
        cursor = page.rows.at(-1)?.seq ?? cursor;
        if (touch === -1) continue;
        touched = true;
        watcher = await this.#recheck(connection, db);
        if (!watcher) return;
      }
      // The replay is judged by the watcher's reach now, but the client's lists were loaded
      // under what it had when it left: if its member, role or key changed meanwhile, what it
      // reaches may differ in members no replayed event names, so it reloads, as a live socket would.
      if (touched) connection.send(JSON.stringify({ type: MESSAGE.reachChanged } satisfies ServerMessage));
      // No await since the loop's last check: no broadcast can slip in between.
      const state = connection.state;
      if (!state) return;
      connection.setState({ ...state, live: true });
      // The log's head as delivered, even when `after` claims more (a client of a log since reset).
      connection.send(JSON.stringify({ type: MESSAGE.ready, head: this.#delivered } satisfies ServerMessage));
    } catch (err) {
      console.error(JSON.stringify({ replay: this.name, error: errorForLog(err) }));
      connection.close(1011, "replay failed");
    }
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
          const readAt = Date.now();
          const fromPrimary = this.#fromPrimary;
          this.#fromPrimary = false;
          await this.#deliverNew(await this.#session(fromPrimary));
          // This read came after every write of a quiet time that has ended: none is owed.
          if (this.#quietUntil > 0 && readAt >= this.#quietUntil + QUIET_MARGIN_MS) this.#setQuietUntil(0);
          // Actions read the same log (worker/actions/run.ts); their label changes are new events,
          // written through the binding: the next round reads them from the primary.
          if (await this.#runActions()) {
            this.#again = true;
            this.#fromPrimary = true;
          }
        } while (this.#again);
      } finally {
        this.#running = null;
      }
    })();
    return this.#running;
  }

  /**
   * Sends each page of new events in one pass over the sockets. A socket whose right to
   * watch an event of the page touches gets the page up to that event only; the rest
   * waits until its access is checked again, so a revoked watcher never sees what
   * followed its revocation.
   */
  async #deliverNew(db: D1DatabaseSession) {
    if (await this.#skipUnwatched(db)) return;
    for (;;) {
      const rows = await readEvents(db, this.name, this.#delivered, PAGE);
      const last = rows.at(-1);
      if (!last) return;
      const page = new Page(rows);
      const reachTouches = rows.map(reachTouchOf);
      // What conditioned watchers need is read before the sends, with no await between them; for
      // sockets still replaying too, as one may turn live meanwhile. (One missed here gets no
      // out-of-reach notice for this page, never a notice about a member it did not see.)
      const watchers = [...this.getConnections<Watcher>()].flatMap((c) => (c.state ? [c.state] : []));
      await page.prepare(db, this.name, watchers);
      const held: { connection: Connection<Watcher>; from: number }[] = [];
      for (const connection of this.getConnections<Watcher>()) {
        const w = connection.state;
        if (!w) continue;
        const touch = reachTouches.findIndex((t) => touches(t, w));
        const until = touch === -1 ? rows.length : touch + 1;
        if (!w.live) continue;
        sendAll(connection, page.framesFor(w, 0, until));
        if (touch !== -1) held.push({ connection, from: until });
      }
      // The log has no gaps (see worker/events/append.ts), so the page ends the delivered run.
      this.#setDelivered(last.seq, db);
      // Only sockets that were live hold the rest of a page: one still replaying reads up to
      // the new `delivered` itself (and checks its access at the same event), so sending it the
      // rest here too would double those events should its replay end during the re-check.
      for (const { connection, from } of held) {
        const w = await this.#recheck(connection, db);
        if (!w?.live || from >= rows.length) continue;
        await page.prepare(db, this.name, [w]);
        sendAll(connection, page.framesFor(w, from, rows.length));
      }
      if (rows.length < PAGE) return;
    }
  }

  /**
   * With no socket open, the new events are owed to no one: whoever connects later
   * replays from D1 (as after the first start). Moving the cursor to the head then costs
   * one read (which also tells whether the workspace has actions to run), where delivering reads and parses every event (an import writes 5,000 a
   * chunk). A socket that connects during the read has replayed only up to the old
   * cursor, so then the events are delivered as usual.
   */
  async #skipUnwatched(db: D1DatabaseSession): Promise<boolean> {
    this.#quiet = false;
    if (!this.#unwatched()) return false;
    const { head, hasActions } = await headAndActions(db, this.name);
    // An action created after this read was created after these events: its own write pokes again.
    this.#noActions = !hasActions;
    // Writes that skipped their poke may have events for the actions.
    if (hasActions) this.#wakeAfterQuiet();
    if (!this.#unwatched()) return false;
    this.#quiet = !hasActions;
    if (head > this.#delivered) this.#setDelivered(head, db);
    return true;
  }

  #unwatched() {
    return this.getConnections()[Symbol.iterator]().next().done === true;
  }

  /** Quiet time for the Worker whose poke this is, if the last read found nothing to do; 0 otherwise. */
  #grantQuiet(): number {
    if (!this.#quiet || !this.#unwatched()) return 0;
    this.#setQuietUntil(Math.max(this.#quietUntil, Date.now() + QUIET_MS));
    return QUIET_MS;
  }

  #setQuietUntil(until: number) {
    this.#quietUntil = until;
    this.ctx.storage.kv.put(QUIET_KEY, until);
  }

  /** Quiet time granted and not read past yet: read again when it ends, or now if it has. */
  #wakeAfterQuiet() {
    if (this.#quietUntil === 0) return;
    this.#wakeBy(Math.max(Date.now(), this.#quietUntil + QUIET_MARGIN_MS));
  }

  async #runActions(): Promise<boolean> {
    if (this.#noActions) {
      this.#noActions = false;
      return false;
    }
    try {
      return await runActions(this.env, await this.#d1(), this.name);
    } catch (err) {
      // The cursor stays where it is: the next poke or sweep goes on from there.
      console.error(JSON.stringify({ actions: this.name, error: errorForLog(err) }));
      return false;
    }
  }

  /**
   * Closes the sockets whose key or session has expired, which no event says: logging out
   * and revoking a key are events (`session.ended`, `api_key.revoked`) on which the socket's
   * access is checked again at once. A live socket whose state predates the credential's
   * expiry (opened before sockets recorded it) is checked again now, which closes it when
   * it names no credential: its client reconnects with one.
   */
  async #endLapsed() {
    const now = Date.now();
    for (const connection of this.getConnections<Watcher>()) {
      const w = connection.state;
      if (!w?.live) continue;
      if (w.credentialExpiresAt === undefined) await this.#recheck(connection, await this.#session());
      else if (w.credentialExpiresAt <= now) connection.close(CLOSE.accessRevoked, "credential expired");
    }
  }

  /** Deletes the tickets that expired unredeemed; wakes again when the next one expires. */
  #pruneTickets() {
    const now = Date.now();
    let next = Number.POSITIVE_INFINITY;
    // Listed whole before deleting: no deletes under an open cursor.
    for (const [key, ticket] of [...this.ctx.storage.kv.list<LiveTicket>({ prefix: TICKET_PREFIX })]) {
      if (ticket.expiresAt <= now) this.ctx.storage.kv.delete(key);
      else next = Math.min(next, ticket.expiresAt);
    }
    if (next !== Number.POSITIVE_INFINITY) this.#wakeBy(next);
  }

  /** Checks a socket's access again (in the session of the events that called for it); closes it when revoked or when the check fails. */
  async #recheck(connection: Connection<Watcher>, db: D1Queries): Promise<Watcher | null> {
    const w = connection.state;
    if (!w) return null;
    try {
      // The role, its condition, or the watcher's own labels may have changed.
      const access = await watcherNow(db, this.name, w);
      if (access === null) {
        connection.close(CLOSE.accessRevoked, "access revoked");
        return null;
      }
      const next = { ...(connection.state ?? w), ...access };
      connection.setState(next);
      if (next.live && reachChanged(w, next)) {
        connection.send(JSON.stringify({ type: MESSAGE.reachChanged } satisfies ServerMessage));
      }
      return next;
    } catch (err) {
      // Fail closed: the client reconnects, and its upgrade checks access afresh.
      console.error(JSON.stringify({ recheck: this.name, error: errorForLog(err) }));
      connection.close(1011, "access check failed");
      return null;
    }
  }

  /**
   * A bookmark no older than every write committed so far: one query in a session that
   * starts on the primary. A write made here through the binding has no bookmark of its
   * own, and the request that asked for it answers (and pokes with) its session's, which
   * the write is not in (worker/lib/d1-sessions.ts `noteBookmark`).
   */
  async #bookmarkAfter(): Promise<string | undefined> {
    const session = (await this.#d1()).withSession("first-primary");
    await session.prepare("select 1").run();
    const bookmark = session.getBookmark() ?? undefined;
    this.#learn(bookmark);
    return bookmark;
  }

  /** A session for reading the log: from the primary when asked (or no bookmark is known yet), else at least at the newest bookmark known. */
  async #session(fromPrimary = false): Promise<D1DatabaseSession> {
    return (await this.#d1()).withSession(
      fromPrimary || this.#bookmark === undefined ? "first-primary" : this.#bookmark,
    );
  }

  /** Keeps the newest bookmark known (a poke's, or one a session reached), so no later session starts older. */
  #learn(bookmark: string | null | undefined) {
    if (bookmark && isBookmark(bookmark)) this.#bookmark = newerBookmark(this.#bookmark, bookmark);
  }

  /**
   * Stores the new head delivered with the bookmark of the session that read it, in one
   * step with no await: a replay (or a restarted object) then reads in sessions that start
   * there, which see every event up to it.
   */
  #setDelivered(seq: number, db: D1DatabaseSession) {
    this.#delivered = seq;
    this.#learn(db.getBookmark());
    this.ctx.storage.kv.put(DELIVERED_KEY, seq);
    if (this.#bookmark !== undefined) this.ctx.storage.kv.put(BOOKMARK_KEY, this.#bookmark);
  }

  #ensureSweep() {
    if (this.ctx.getWebSockets().length > 0) this.#wakeBy(Date.now() + SWEEP_MS);
  }

  /**
   * Sets the alarm to `at` unless it rings sooner. One change at a time: two that read the
   * alarm together would otherwise leave whichever wrote last, not the sooner.
   */
  #wakeBy(at: number) {
    this.#alarmChange = this.#alarmChange
      .then(async () => {
        const alarm = await this.ctx.storage.getAlarm();
        if (alarm === null || alarm > at) await this.ctx.storage.setAlarm(at);
      })
      .catch((err) => console.error(JSON.stringify({ alarm: this.name, error: errorForLog(err) })));
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

type ReachTouch = { member?: string; role?: string; key?: string; session?: string } | null;

/**
 * Whether what a watcher is sent may differ wholesale: members:admin (anonymous members)
 * gained or lost, a condition set, changed or dropped, a new `actor`, or a family of events
 * (labels, invitations, ...) gained or lost with its read scope.
 */
const reachChanged = (before: Watcher, after: Watcher) =>
  !!before.seesAnonymous !== !!after.seesAnonymous ||
  (before.condition ?? null) !== (after.condition ?? null) ||
  (!!after.condition && JSON.stringify(before.actor ?? null) !== JSON.stringify(after.actor ?? null)) ||
  watchedFamilies(before.granted ?? []).join() !== watchedFamilies(after.granted ?? []).join();

/** The member, role, API key or session whose event may change who may watch, if any. */
function reachTouchOf(row: EventRow): ReachTouch {
  const family = row.type.split(".")[0];
  if (family !== "member" && family !== "role" && row.type !== "api_key.revoked" && row.type !== "session.ended") {
    return null;
  }
  const data = JSON.parse(row.data) as {
    member?: { id?: string };
    role?: { key?: string };
    session?: { id?: string };
    key?: string;
    id?: string;
  };
  if (family === "member") return { member: data.member?.id };
  if (family === "role") return { role: data.role?.key ?? data.key };
  if (family === "session") return { session: data.session?.id };
  return { key: data.id };
}

const touches = (t: ReachTouch, w: Watcher) =>
  t !== null &&
  ((t.member !== undefined && t.member === w.memberId) ||
    (t.role !== undefined && t.role === w.role) ||
    (t.key !== undefined && t.key === w.keyId) ||
    (t.session !== undefined && t.session === w.sessionId));
