import { env } from "cloudflare:workers";
import { Move, type MoveCursor, type MoveOptions, type Shards, startMove } from "../../worker/moves/engine";
import { MOVED_TABLES } from "../../worker/moves/tables";
import { addMember, addRole, call, newWorkspace, type Workspace } from "../helpers";
import { importCsv } from "../imports/helpers";
import { latestToken, signIn } from "../links";
import { configureSms, newNumber, postInbound, smsParams } from "../provider/twilio";
import { waitFor } from "../wait";

/**
 * Helpers for moves (worker/moves): the workspace is made on shard 0 (SHARD_0), where the
 * Worker serves it, and moves to shard 1 (SHARD_1), both migrated by the tests' setup.
 */

/** The shards a workspace of richWorkspace() moves between: the one it is made on, and the other. */
export const pair = (): Shards => ({ source: env.SHARD_0, target: env.SHARD_1 });

/** The index tables the triggers keep from members, with their keys. */
const INDEX_TABLES = {
  members_by_label: "label, status, member_id",
  members_by_label_pair: "label, other, status, member_id",
  members_by_term: "status, lcp, term, member_id",
};

/**
 * Every row of the workspace on `d1`: each moved table's, and the index rows its members
 * have there, each table's rows in key order. Equal on two shards: the move left nothing
 * behind and nothing stale.
 */
export async function workspaceRows(d1: D1Database, workspaceId: string): Promise<Record<string, unknown[]>> {
  const tables = [
    ...MOVED_TABLES.map((t) => {
      const where = t.parent
        ? `"${t.parent.via}" in (select id from "${t.parent.table}" where workspace_id = ?1)`
        : `"${t.workspace}" = ?1`;
      return { name: t.name, where, order: t.key.map((c) => `"${c}"`).join(", ") };
    }),
    ...Object.entries(INDEX_TABLES).map(([name, order]) => ({ name, where: "workspace_id = ?1", order })),
  ];
  const results = await d1.batch(
    tables.map((t) => d1.prepare(`select * from "${t.name}" where ${t.where} order by ${t.order}`).bind(workspaceId)),
  );
  return Object.fromEntries(tables.map((t, i) => [t.name, results[i]?.results ?? []]));
}

/** How many rows of the workspace `rows` holds, all tables together. */
export const rowCount = (rows: Record<string, unknown[]>) => Object.values(rows).reduce((n, r) => n + r.length, 0);

/**
 * The shards as a move sees them, except that once armed with `n`, the nth D1 call from
 * then on (a batch, or a statement's all/first/run) throws "worker killed" once it has gone
 * out: that call committed, nothing after it ran, as when a Worker dies there.
 */
export function mortalShards(shards: Shards): { shards: Shards; arm: (n: number | null) => void } {
  let left: number | null = null;
  const kill = () => {
    if (left === null) return false;
    left -= 1;
    if (left > 0) return false;
    left = null;
    return true;
  };
  const wrap = (d1: D1Database): D1Database => {
    const real = new WeakMap<object, D1PreparedStatement>();
    const died = <T>(result: T): T => {
      if (kill()) throw new Error("worker killed");
      return result;
    };
    const statement = (s: D1PreparedStatement): D1PreparedStatement => {
      const proxy = new Proxy(s, {
        get(target, key) {
          if (key === "bind") return (...values: unknown[]) => statement(target.bind(...values));
          if (key === "all" || key === "first" || key === "run" || key === "raw") {
            const method = Reflect.get(target, key) as (...args: unknown[]) => Promise<unknown>;
            return async (...args: unknown[]) => died(await method.apply(target, args));
          }
          const value = Reflect.get(target, key);
          return typeof value === "function" ? value.bind(target) : value;
        },
      });
      real.set(proxy, s);
      return proxy;
    };
    return new Proxy(d1, {
      get(target, key) {
        if (key === "prepare") return (query: string) => statement(target.prepare(query));
        if (key === "batch") {
          return async (statements: D1PreparedStatement[]) =>
            died(await target.batch(statements.map((s) => real.get(s) ?? s)));
        }
        const value = Reflect.get(target, key);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  };
  return {
    shards: { source: wrap(shards.source), target: wrap(shards.target) },
    arm: (n) => {
      left = n;
    },
  };
}

/**
 * Drives a move as its owner does (the workspace's object): one action at a time from
 * the cursor it stored last, which it stores again after each: a step, the freeze once
 * the drain has caught up, the switch once drained. A "worker killed" throw loses only the
 * action under way: the next one starts again from the stored cursor, on a new Move.
 */
export class MoveDriver {
  /** The cursor as stored (JSON) after the last action that finished. */
  stored: string;
  /** The phase of each action a kill cut short ("start" for the start). */
  readonly killedIn: string[] = [];
  /** Called before each attempt of an action: whether it retries one a kill cut short, and its phase ("start" for the start). */
  static beforeAttempt: (retry: boolean, phase: string) => void = () => {};
  private retry = false;

  private constructor(
    readonly shards: Shards,
    readonly options: MoveOptions,
    cursor: MoveCursor,
  ) {
    this.stored = JSON.stringify(cursor);
  }

  /** Starts the move (again, when a kill cuts the start short). */
  static async start(shards: Shards, workspaceId: string, options: MoveOptions = {}, moveId = `mov_${workspaceId}`) {
    const killedIn: string[] = [];
    for (let retry = false; ; retry = true) {
      MoveDriver.beforeAttempt(retry, "start");
      try {
        const driver = new MoveDriver(shards, options, await startMove(shards, { moveId, workspaceId }, options));
        driver.killedIn.push(...killedIn);
        return driver;
      } catch (err) {
        if (!String(err).includes("worker killed")) throw err;
        killedIn.push("start");
      }
    }
  }

  get cursor(): MoveCursor {
    return JSON.parse(this.stored) as MoveCursor;
  }

  /** One action from the stored cursor; answers the cursor stored after it. */
  async next(now = Date.now()): Promise<MoveCursor> {
    const move = new Move(this.shards, this.cursor, this.options);
    const phase = move.cursor.phase;
    MoveDriver.beforeAttempt(this.retry, phase);
    try {
      if (phase === "caught-up") await move.freeze();
      else if (phase === "drained") move.switched(now);
      else await move.step(now);
    } catch (err) {
      if (!String(err).includes("worker killed")) throw err;
      this.killedIn.push(phase);
      this.retry = true;
      return this.cursor;
    }
    this.retry = false;
    this.stored = JSON.stringify(move.cursor);
    return move.cursor;
  }

  /** Actions until the stored cursor is in `phase`, with `between` after each one. */
  async until(phase: MoveCursor["phase"], between: (cursor: MoveCursor) => Promise<void> = async () => {}) {
    for (let n = 0; this.cursor.phase !== phase; n++) {
      if (n > 20_000) throw new Error(`the move never reached ${phase}: ${this.stored}`);
      await between(await this.next());
    }
    return this.cursor;
  }

  /** Gives the move up from its stored cursor, and rolls it back to the end. */
  async rollback() {
    const move = new Move(this.shards, this.cursor, this.options);
    move.rollback();
    this.stored = JSON.stringify(move.cursor);
    return this.until("rolled-back");
  }
}

type Json = Record<string, unknown>;

/** A workspace with a bit of everything a workspace holds, made through the API. */
export async function richWorkspace() {
  const ws = await newWorkspace({ allowJoinRequests: true, shard: 0 });
  await addRole(ws, "helper", ["members:read", "members:write"]);
  await call("POST", "/v1/labels", { key: ws.key, body: { name: "VIP", slug: "vip", color: "#ff0000" } });
  const members: Json[] = [];
  for (let i = 0; i < 12; i++) {
    members.push(
      await addMember(ws, {
        name: `Member ${i} Person`,
        email: `m${i}@${ws.slug}.test`,
        phone: i % 3 === 0 ? newNumber() : undefined,
        externalId: i % 2 === 0 ? `crm-${i}` : undefined,
        labels: i % 4 === 0 ? ["vip", "beta", "gamma"] : ["beta"],
        role: i === 5 ? "helper" : "user",
      }),
    );
  }
  // Actions: a label action on every new member (its runs), created before more members come.
  const action = await call("POST", "/v1/actions", {
    key: ws.key,
    body: { name: "Welcome", trigger: "member.created", action: { type: "label", add: ["welcomed"] } },
  });
  if (action.status !== 201) throw new Error(`action: ${action.status} ${JSON.stringify(action.body)}`);
  members.push(await addMember(ws, { name: "After Action", email: `after@${ws.slug}.test` }));
  await waitFor("the action's run", async () => {
    const res = await call("GET", `/v1/members/${members.at(-1)?.id}`, { key: ws.key });
    return (res.body.labels as string[]).includes("welcomed");
  });
  const key = await call("POST", "/v1/api-keys", {
    key: ws.key,
    body: { name: "Integration" },
    headers: { "Idempotency-Key": `integration-${ws.id}` },
  });
  const invited = await call("POST", "/v1/invitations", { key: ws.key, body: { email: `guest@${ws.slug}.test` } });
  if (invited.status !== 201) throw new Error(`invite: ${invited.status} ${JSON.stringify(invited.body)}`);
  await call("POST", `/v1/invitations/${invited.body.id}/resend`, { key: ws.key });
  await call("POST", `/public/${ws.slug}/join-requests`, {
    body: { name: "Joiner", email: `joiner@${ws.slug}.test` },
    headers: { "CF-Connecting-IP": "10.9.8.7" },
  });
  // Anonymous members and their messages.
  await configureSms(ws);
  const caller = newNumber();
  for (const body of ["hello", "anyone there?"]) await postInbound(ws.id, "sms", smsParams(caller, body));
  await postInbound(ws.id, "sms", smsParams(newNumber(), "hi"));
  // An import with an error row.
  await importCsv(ws, `name,email\r\nImported One,imported1@${ws.slug}.test\r\nBroken,not-an-email\r\n`);
  // A session, and a credential change pending.
  await signIn(ws, `owner@${ws.slug}.test`);
  const change = await call("POST", `/v1/members/${members[1]?.id}/credential-changes`, {
    key: ws.key,
    body: { kind: "email", value: `m1-new@${ws.slug}.test` },
  });
  if (change.status !== 202) throw new Error(`credential change: ${change.status} ${JSON.stringify(change.body)}`);
  return { ws, members, apiKeyId: key.body.id as string };
}

/** Changes a member's email through a credential change confirmed from the link sent to their current contact. */
export async function changeEmail(ws: Workspace, memberId: string, from: string, to: string) {
  const started = await call("POST", `/v1/members/${memberId}/credential-changes`, {
    key: ws.key,
    body: { kind: "email", value: to },
  });
  if (started.status !== 202) throw new Error(`start: ${started.status} ${JSON.stringify(started.body)}`);
  const token = await latestToken(ws, from);
  const confirmed = await call("POST", "/v1/credential-changes/confirm", { body: { token } });
  if (confirmed.status !== 200) throw new Error(`confirm: ${confirmed.status} ${JSON.stringify(confirmed.body)}`);
}

/** Two members swap emails, through a third, temporary one (emails are unique in a workspace). */
export async function swapEmails(ws: Workspace, a: { id: string; email: string }, b: { id: string; email: string }) {
  const temporary = `swap-${crypto.randomUUID().slice(0, 8)}@${ws.slug}.test`;
  await changeEmail(ws, a.id, a.email, temporary);
  await changeEmail(ws, b.id, b.email, a.email);
  await changeEmail(ws, a.id, temporary, b.email);
}

/** Two members swap external ids (PATCH; unique in a workspace), through none. */
export async function swapExternalIds(
  ws: Workspace,
  a: { id: string; externalId: string },
  b: { id: string; externalId: string },
) {
  const patch = (id: string, externalId: string | null) =>
    call("PATCH", `/v1/members/${id}`, { key: ws.key, body: { externalId } });
  for (const res of [await patch(a.id, null), await patch(b.id, a.externalId), await patch(a.id, b.externalId)]) {
    if (res.status !== 200) throw new Error(`patch: ${res.status} ${JSON.stringify(res.body)}`);
  }
}

/**
 * A workload of writes through the API, one every third call, each of another kind in turn:
 * creates, patches, label changes, archives, keys made and revoked, inbound messages,
 * invitations. Refused writes throw, so a test sees them.
 */
export function writer(ws: Workspace, members: Json[]) {
  let n = 0;
  const member = (k: number) => members[k % members.length] as { id: string };
  const ok = (res: { status: number; body: unknown }, what: string) => {
    if (res.status >= 300) throw new Error(`${what}: ${res.status} ${JSON.stringify(res.body)}`);
  };
  let calls = 0;
  return async () => {
    // One write every third call: a move's steps far outnumber what a test needs written.
    calls += 1;
    if (calls % 3 !== 1) return;
    n += 1;
    const target = member(n);
    switch (n % 8) {
      case 0:
        members.push(await addMember(ws, { name: `Written ${n}`, email: `w${n}@${ws.slug}.test`, labels: ["late"] }));
        break;
      case 1:
        ok(await call("PATCH", `/v1/members/${target.id}`, { key: ws.key, body: { name: `Renamed ${n}` } }), "patch");
        break;
      case 2:
        ok(
          await call("POST", `/v1/members/${target.id}/labels`, { key: ws.key, body: { labels: [`l${n % 3}`] } }),
          "label",
        );
        break;
      case 3:
        await call("DELETE", `/v1/members/${target.id}/labels/beta`, { key: ws.key });
        break;
      case 4: {
        const made = await call("POST", "/v1/api-keys", { key: ws.key, body: { name: `Key ${n}` } });
        ok(made, "key");
        ok(await call("DELETE", `/v1/api-keys/${made.body.id}`, { key: ws.key }), "revoke");
        break;
      }
      case 5:
        ok(
          await postInbound(ws.id, "sms", smsParams(newNumber(), `text ${n}`)).then((r) => ({ ...r, body: r.text })),
          "sms",
        );
        break;
      case 6:
        ok(
          await call("POST", "/v1/invitations", { key: ws.key, body: { email: `inv${n}@${ws.slug}.test` } }),
          "invite",
        );
        break;
      case 7:
        ok(
          await call("PATCH", `/v1/members/${target.id}`, { key: ws.key, body: { description: `note ${n}` } }),
          "describe",
        );
        break;
    }
  };
}

/**
 * A switch as the workspace's object holds it: a running move in the directory, the source
 * (shard 0) frozen for the workspace. Answers how to end it the way a move that gives up
 * does: the source takes writes again.
 */
export async function frozenForSwitch(ws: Workspace) {
  const at = new Date().toISOString();
  const moveId = `mov_held${crypto.randomUUID().slice(0, 8)}`;
  await env.DIRECTORY.prepare(
    `insert into moves (id, workspace_id, from_shard, to_shard, status, cursor, created_at, updated_at)
     values (?, ?, 0, 1, 'running', 'null', ?, ?)`,
  )
    .bind(moveId, ws.id, at, at)
    .run();
  await env.SHARD_0.prepare("insert into moving_workspaces (workspace_id, move_id, frozen) values (?, ?, 1)")
    .bind(ws.id, moveId)
    .run();
  return async () => {
    await env.SHARD_0.prepare("delete from moving_workspaces where workspace_id = ?").bind(ws.id).run();
    await env.DIRECTORY.prepare("update moves set status = 'failed', finished_at = ? where id = ?")
      .bind(at, moveId)
      .run();
  };
}
