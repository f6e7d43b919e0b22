import { and, eq, gt, inArray, not, sql } from "drizzle-orm";
import type { Context } from "hono";
import type { AppEnv } from "../app";
import { actingAs } from "../events/acting";
import { appendEvent, now } from "../events/append";
import { secretsEqual, sha256Hex } from "../lib/crypto";
import { type Db, database } from "../lib/db";
import { ApiError } from "../lib/errors";
import { newId } from "../lib/ids";
import { memberJson, parseMember } from "../members/json";
import { findDuplicate } from "../members/rules";
import type { Member } from "../members/schema";
import { type MemberRow, members } from "../members/table";
import { requireTokenShape } from "../sessions/tokens";
import { useShard } from "../shards/context";
import { belongsTo, shardOfToken } from "../shards/tokens";
import { CHANGEABLE, columnOf, memberIsChangeable, memberRefusal, type Refusal, toApiError } from "./rules";
import type { PendingChange } from "./schema";
import { type CredentialChangeRow, type CredentialKind, credentialChanges as cc } from "./table";

/**
 * Plain data, so it crosses the Durable Object's RPC boundary intact. A confirmed change
 * carries the value it replaced, for the notice to the member's old contact (./deliver.ts).
 */
export type ConfirmResult =
  | { ok: true; member: Member; replaced: { kind: CredentialKind; oldValue: string | null } }
  | ({ ok: false } & Refusal);

/**
 * The workspace a link's token belongs to, so the Worker knows which Durable Object
 * confirms it; the request then uses its shard (`c.var.db`). A token that was never
 * issued answers 400 or 404 here, before any RPC.
 */
export async function findLink(c: Context<AppEnv>, token: string) {
  requireTokenShape("credentialChange", token);
  const unknown = () => new ApiError(404, "unknown_token", "This confirmation link is not valid.");
  const routed = await shardOfToken(c.env, token);
  if (!routed) throw unknown();
  useShard(c, routed.shard);
  const tokenHash = await sha256Hex(token);
  const [found] = await c.var.db
    .select({ workspaceId: cc.workspaceId, tokenHash: cc.tokenHash })
    .from(cc)
    .where(eq(cc.tokenHash, tokenHash));
  if (!found || !belongsTo(routed, found.workspaceId) || !(await secretsEqual(found.tokenHash, tokenHash))) {
    throw unknown();
  }
  return found;
}

const queues = new Map<string, Promise<unknown>>();

/**
 * Confirms one change at a time per workspace. The workspace's Durable Object calls this
 * (`WorkspaceLive.confirmCredentialChange`); its RPC calls interleave at every await on
 * D1, hence the queue. The guarded batch in `confirmChange` holds even without it.
 */
export function confirmSerially(d1: D1Database, workspaceId: string, tokenHash: string): Promise<ConfirmResult> {
  const previous = queues.get(workspaceId) ?? Promise.resolve();
  // A visitor holding the link confirms it (worker/events/actor.ts).
  const run = previous.then(() =>
    actingAs({ type: "public" }, () => confirmChange(database(d1), workspaceId, tokenHash)),
  );
  const settled = run.catch(() => undefined);
  queues.set(workspaceId, settled);
  settled.then(() => {
    if (queues.get(workspaceId) === settled) queues.delete(workspaceId);
  });
  return run;
}

const refuse = (refusal: Refusal): ConfirmResult => ({ ok: false, ...refusal });

/**
 * Another pending change for the same member and kind: starting one supersedes the older
 * in the same batch (./start.ts), so this one is dead. Not judged by id order: ids are
 * time-ordered only within one isolate.
 */
const newerChange = (change: CredentialChangeRow) =>
  sql`exists (select 1 from ${cc} as newer where newer.member_id = ${change.memberId}
    and newer.kind = ${change.kind} and newer.status = 'pending' and newer.id != ${change.id})`;

/** Why this change cannot be confirmed now, or null when it can. */
async function refusalFor(
  db: Db,
  change: CredentialChangeRow,
  member: MemberRow | undefined,
  at: string,
): Promise<Refusal | null> {
  if (change.status === "confirmed") {
    return { code: "change_used", message: "This link was already used; the change is done." };
  }
  const superseded: Refusal = {
    code: "change_superseded",
    message: "A newer change replaced this one; use the latest link.",
  };
  if (change.status === "superseded") return superseded;
  if (change.expiresAt <= at) {
    return {
      code: "change_expired",
      message: "This link expired; ask for the change to be started again.",
    };
  }
  const refusal = memberRefusal(member);
  if (refusal) return refusal;
  const [newer] = await db.select({ one: sql`1` }).from(cc).where(newerChange(change));
  if (newer) return superseded;
  const holder = await findDuplicate(db, change.workspaceId, { [change.kind]: change.newValue }, change.memberId);
  if (holder) {
    return {
      code: "duplicate",
      message: `Another member has had this ${change.kind} since the change started.`,
      existingId: holder,
    };
  }
  return null;
}

/**
 * What a link would change, read without changing anything, so the confirm page shows it
 * before the member presses Confirm (a link scanner that opens the page confirms nothing):
 * the kind, the member's value now (what confirming replaces), the new value and the
 * expiry; or the refusal that confirming would answer.
 */
export async function previewChange(c: Context<AppEnv>, token: string): Promise<PendingChange> {
  const link = await findLink(c, token);
  const db = c.var.db;
  const found = await load(db, link.workspaceId, link.tokenHash);
  if (!found) throw new ApiError(404, "unknown_token", "This confirmation link is not valid.");
  const { change, member } = found;
  const refusal = await refusalFor(db, change, member, now());
  if (refusal) throw toApiError(refusal);
  return {
    kind: change.kind,
    oldValue: member?.[change.kind] ?? null,
    newValue: change.newValue,
    expiresAt: change.expiresAt,
  };
}

async function load(db: Db, workspaceId: string, tokenHash: string) {
  const [change] = await db
    .select()
    .from(cc)
    .where(and(eq(cc.workspaceId, workspaceId), eq(cc.tokenHash, tokenHash)));
  if (!change) return undefined;
  const [member] = await db.select().from(members).where(eq(members.id, change.memberId));
  return { change, member };
}

/**
 * Confirms a change in one batch: a guarded UPDATE (still pending, not expired, no newer
 * change, member changeable, value still free) stamps a fresh confirmation id on the
 * change, and the member update, the event and the final read all require that stamp.
 * Of racing confirmations, inside the Durable Object or not, one writes and the others
 * write nothing and are refused.
 */
export async function confirmChange(db: Db, workspaceId: string, tokenHash: string): Promise<ConfirmResult> {
  const found = await load(db, workspaceId, tokenHash);
  if (!found) return refuse({ code: "unknown_token", message: "This confirmation link is not valid." });
  const { change } = found;
  const at = now();
  const early = await refusalFor(db, change, found.member, at);
  if (early) return refuse(early);
  const stamp = newId("cfm");
  const column = columnOf(change.kind);
  const valueTaken = sql`exists (select 1 from ${members} where ${members.workspaceId} = ${workspaceId}
    and ${column} = ${change.newValue} and ${members.id} != ${change.memberId})`;
  const mine = sql`exists (select 1 from ${cc} where ${cc.id} = ${change.id} and ${cc.confirmation} = ${stamp})`;
  const newValues =
    change.kind === "email"
      ? { email: change.newValue }
      : { phone: change.newValue, phoneNational: change.newNational };
  const [confirmed, , , after, replaced] = await db.batch([
    db
      .update(cc)
      .set({
        status: "confirmed",
        confirmation: stamp,
        confirmedAt: at,
        // The audit keeps the value actually replaced, which an import may have changed since the start.
        oldValue: sql`(select ${column} from ${members} where ${members.id} = ${change.memberId})`,
        updatedAt: at,
      })
      .where(
        and(
          eq(cc.id, change.id),
          eq(cc.tokenHash, tokenHash),
          eq(cc.status, "pending"),
          gt(cc.expiresAt, at),
          not(newerChange(change)),
          memberIsChangeable(change.memberId),
          not(valueTaken),
        ),
      ),
    db
      .update(members)
      .set({ ...newValues, updatedAt: at })
      .where(and(eq(members.id, change.memberId), inArray(members.status, CHANGEABLE), mine)),
    appendEvent(
      db,
      workspaceId,
      "member.credential_changed",
      // Old and new values stay out of the log: every `members:read` watcher receives it.
      sql`json_object('member', json(${memberJson}), 'credentialChange', json_object('id', ${change.id}, 'kind', ${change.kind}))`,
      { from: sql`${members} where ${members.id} = ${change.memberId}`, onlyIfChanged: true },
    ),
    db
      .select({ json: memberJson })
      .from(members)
      .where(and(eq(members.id, change.memberId), mine)),
    db.select({ oldValue: cc.oldValue }).from(cc).where(eq(cc.id, change.id)),
  ]);
  const row = after[0];
  if (confirmed.meta.changes === 0 || !row) {
    const current = await load(db, workspaceId, tokenHash);
    const refusal = current && (await refusalFor(db, current.change, current.member, now()));
    return refuse(refusal ?? { code: "change_used", message: "This link was already used." });
  }
  return {
    ok: true,
    member: parseMember(row.json),
    replaced: { kind: change.kind, oldValue: replaced[0]?.oldValue ?? null },
  };
}
