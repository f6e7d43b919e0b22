import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { DELIVERED_KEY, type Watcher, type WorkspaceLive } from "../../durable-objects/workspace-live";
import { type D1Queries, forward } from "../../worker/lib/db";
import { MESSAGE } from "../../worker/live/protocol";
import { shardsOf } from "../../worker/shards/shards";
import { logHead, shardDb } from "../db";
import { addMember, call, keyForRole, newWorkspace, type Workspace } from "../helpers";
import { connectLive, isReady, type LiveSocket, waitFor } from "./sockets";

// Races between a socket's replay and the writes (and live deliveries) that happen while
// it runs. Each test holds back some of the workspace object's D1 reads until the moment
// the race needs, so it happens every run: the object's own code runs unchanged.

const EVENTS_READ = "select seq, type, at, data, actor from events";
const ACCESS_READ = "from members m join roles r";

type Inside = { object: WorkspaceLive; storage: DurableObjectStorage };
/** What a read whose SQL contains `match` waits for before it runs, given its bound values (undefined: nothing). */
type Hold = { match: string; wait: (values: unknown[], inside: Inside) => Promise<unknown> | undefined };

/** Puts `holds` in front of the D1 reads of the workspace's object (on whichever shard it is), made through the binding or a session of it. */
function holdReads(ws: Workspace, holds: Hold[]) {
  return runInDurableObject(env.WORKSPACE.getByName(ws.id), async (object: WorkspaceLive, state) => {
    const target = object as unknown as { env: Cloudflare.Env };
    const prepare = (db: D1Queries) => (query: string) => {
      const statement = db.prepare(query);
      const hold = holds.find((h) => query.includes(h.match));
      if (!hold) return statement;
      // Enough for the reads held here (bind, then all or first); should one of them change
      // its calls, the object's replay fails and the test times out waiting for `ready`.
      return {
        bind: (...values: unknown[]) => {
          const bound = statement.bind(...values);
          const held = async <T>(run: () => Promise<T>) => {
            await hold.wait(values, { object, storage: state.storage });
            return run();
          };
          return { all: <T>() => held(() => bound.all<T>()), first: <T>() => held(() => bound.first<T>()) };
        },
      };
    };
    const held = <D extends D1Queries>(db: D): D =>
      new Proxy(db, {
        get: (t, p) =>
          p === "prepare"
            ? prepare(t)
            : p === "withSession"
              ? (start?: string) => held((t as unknown as D1Database).withSession(start))
              : forward(t, p),
      });
    const shards = new Map(shardsOf(target.env).map(({ index, d1 }) => [`SHARD_${index}`, held(d1)]));
    target.env = new Proxy(target.env, { get: (t, p) => (typeof p === "string" && shards.get(p)) || forward(t, p) });
    // The object keeps its shard once read: it reads it again, held, from the env above.
    await object.shardChanged();
  });
}

/** Until the object has delivered the log up to its head (its cursor is kept in storage). */
async function deliveredToHead(ws: Workspace, storage: DurableObjectStorage) {
  const head = await logHead(ws.id);
  await waitFor(`delivery up to ${head}`, () => (storage.kv.get<number>(DELIVERED_KEY) ?? 0) >= head, 5_000);
}

/** Runs `work` the first time it is asked, and answers every later ask with nothing. */
function once<A extends unknown[]>(work: (...args: A) => Promise<unknown>) {
  let done = false;
  return (...args: A) => {
    if (done) return undefined;
    done = true;
    return work(...args);
  };
}

async function deskWatcher(condition?: string) {
  const ws = await newWorkspace();
  const role = await call("POST", "/v1/roles", {
    key: ws.key,
    body: { key: "desk", name: "Desk", type: "team", scopes: ["members:read"], condition },
  });
  expect(role.status).toBe(201);
  return { ws, agent: await keyForRole(ws, "desk") };
}

async function resume(key: string, after: number) {
  const connected = await connectLive({ key, after });
  if (!connected.socket) throw new Error(`refused: ${connected.refused.status}`);
  const socket = connected.socket;
  await waitFor("ready", () => isReady(socket));
  return socket;
}

async function patchDesk(ws: Workspace, body: Record<string, unknown>) {
  const res = await call("PATCH", "/v1/roles/desk", { key: ws.key, body });
  if (res.status !== 200) throw new Error(`role not changed: ${res.status}`);
}

const createdEmails = (s: LiveSocket) =>
  s.messages.flatMap((m) =>
    "seq" in m && m.type === "member.created" ? [(m.data as { member: { email: string } }).member.email] : [],
  );

async function emailsIn(ws: Workspace) {
  const { results } = await (await shardDb(ws.id))
    .prepare("select email from members where workspace_id = ?")
    .bind(ws.id)
    .all();
  return results.map((r) => r.email);
}

describe("a socket's replay racing the writes that change what it may see", () => {
  it("judges what follows a narrowing of its role, committed while it replays, by the narrowed role", async () => {
    const { ws, agent } = await deskWatcher(
      `member.email.endsWith("@acme.test") || member.email.endsWith("@other.test")`,
    );
    await addMember(ws, { email: "ann@acme.test" });
    // The replay has read the watcher's access (both domains); before it reads its first
    // page, the role narrows to one and a member of the other is added, and delivered live.
    const narrow = once(async (storage: DurableObjectStorage) => {
      await patchDesk(ws, { condition: `member.email.endsWith("@acme.test")` });
      await addMember(ws, { email: "hal@other.test" });
      await deliveredToHead(ws, storage);
    });
    await holdReads(ws, [
      { match: EVENTS_READ, wait: ([, after], { storage }) => (after === 0 ? narrow(storage) : undefined) },
    ]);
    const socket = await resume(agent.key, 0);
    expect(await emailsIn(ws)).toContain("hal@other.test"); // the race took place
    expect(createdEmails(socket)).toContain("ann@acme.test");
    expect(createdEmails(socket)).not.toContain("hal@other.test");
    expect(socket.messages.some((m) => "type" in m && m.type === MESSAGE.reachChanged)).toBe(true);
  });

  it("sends each event once when live delivery holds a page at its role's change while its replay ends", async () => {
    const { ws, agent } = await deskWatcher();
    await addMember(ws, { email: "ann@x.test" });
    const before = await logHead(ws.id);
    let changing = false;
    // While the replay waits at its first page, the role changes and a member is added; the
    // object delivers both in one page, which touches the socket's access at its first event.
    const change = once(async (storage: DurableObjectStorage) => {
      changing = true;
      await patchDesk(ws, { name: "Front desk" });
      await addMember(ws, { email: "bea@x.test" });
      await deliveredToHead(ws, storage);
      changing = false;
    });
    const bothCommitted = once(() => waitFor("both writes", async () => (await logHead(ws.id)) >= before + 2, 5_000));
    const live = (object: WorkspaceLive) => [...object.getConnections<Watcher>()].every((c) => c.state?.live);
    await holdReads(ws, [
      {
        match: EVENTS_READ,
        wait: ([, after], { storage }) =>
          after === 0 ? change(storage) : after === before ? bothCommitted() : undefined,
      },
      // A re-check of the socket's access made during that delivery completes only after the
      // replay has caught up and made the socket live.
      {
        match: ACCESS_READ,
        wait: (_, { object }) => (changing ? waitFor("the socket live", () => live(object), 5_000) : undefined),
      },
    ]);
    const socket = await resume(agent.key, 0);
    const head = await logHead(ws.id);
    await addMember(ws, { email: "cal@x.test" });
    await waitFor("the next event", () => socket.seqs().includes(head + 1));
    expect(createdEmails(socket).filter((email) => email === "bea@x.test")).toHaveLength(1);
    expect(socket.seqs()).toEqual([...new Set(socket.seqs())].sort((a, b) => a - b));
  });
});
