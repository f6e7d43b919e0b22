import { and, eq, sql } from "drizzle-orm";
import type * as v from "valibot";
import type { Caller } from "../app";
import { appendEvent, now } from "../events/append";
import { sha256Hex } from "../lib/crypto";
import type { Db } from "../lib/db";
import { ApiError, invalidField } from "../lib/errors";
import { newId } from "../lib/ids";
import { insertWhere } from "../lib/insert-where";
import { normalizePhone } from "../members/phone";
import { assertOutranks, duplicateOf, findDuplicate, outranksMemberSql } from "../members/rules";
import { loadMember } from "../members/writes";
import { assertActorChange } from "../reach/actor-fields";
import {
  assertMemberInReach,
  forbiddenByCondition,
  memberInReach,
  reachable,
  reaches,
  reachFilter,
  reachOf,
} from "../reach/reach";
import { TOKEN_PREFIX } from "../sessions/tokens";
import { routedToken } from "../shards/tokens";
import type { Delivery } from "./deliver";
import { parseStarted, publicChangeJson } from "./json";
import { contactFor, memberIsChangeable, memberRefusal, notChangeable, toApiError } from "./rules";
import type { StartCredentialChange, StartedChange } from "./schema";
import { credentialChanges as cc } from "./table";

export const DEFAULT_LINK_HOURS = 24;
const HOUR_MS = 3_600_000;

/** `CREDENTIAL_CHANGE_TTL_HOURS` is an optional var (wrangler.toml `[vars]`), so `Env` does not list it. */
export type CredentialEnv = Env & Partial<{ CREDENTIAL_CHANGE_TTL_HOURS: string }>;

/** How long a confirmation link lives: whole hours from 1 to 720, or 24 when unset or invalid. */
export function linkHours(env: Partial<CredentialEnv>): number {
  const hours = Number(env.CREDENTIAL_CHANGE_TTL_HOURS);
  return Number.isInteger(hours) && hours >= 1 && hours <= 720 ? hours : DEFAULT_LINK_HOURS;
}

const invalidValue = (message: string) => invalidField("value", message);

/** The new value as stored: emails arrive lowercased from the schema, phones become E.164. */
function normalize(input: v.InferOutput<typeof StartCredentialChange>) {
  if (input.kind === "email") return { value: input.value, national: null };
  const phone = normalizePhone(input.value);
  if (!phone) throw invalidValue("Enter a valid phone number in international format, e.g. +14155550100.");
  return { value: phone.e164, national: phone.national };
}

/**
 * Starts a credential change: validates the new value, supersedes the member's pending
 * change of the same kind and records the new one (token as hash only) with its event,
 * all in one batch. The link goes to the member's current contact after the commit.
 * Under a role condition the member must be in the caller's reach (route() answers 404
 * otherwise, and the batch checks it again), and stay so with the new value: a caller
 * may not start a change that would, once confirmed, take the member out of their
 * reach (403), nor one of their own email or phone when their condition reads it on
 * `actor` (403). Nor may they start one of a member who outranks them (403
 * role_exceeds_caller, judged again inside the batch on the member's role as it is then),
 * else one click by the owner on the link would hand the owner's account over. The
 * confirmation itself is the member's, with no caller to judge.
 */
export async function startCredentialChange(
  db: Db,
  env: CredentialEnv,
  caller: Caller,
  memberId: string,
  input: v.InferOutput<typeof StartCredentialChange>,
): Promise<{ change: StartedChange; delivery: Delivery }> {
  const ws = caller.workspaceId;
  const member = await loadMember(db, ws, memberId);
  await assertOutranks(db, caller, member.role);
  const refusal = memberRefusal(member);
  if (refusal) throw toApiError(refusal);
  const next = normalize(input);
  if (next.value === member[input.kind]) throw invalidValue(`This is already the member's ${input.kind}.`);
  const reach = await reachOf(db, caller);
  // Their own email or phone, when their condition reads it on `actor`, would change whom they reach.
  assertActorChange(reach, member, { ...member, [input.kind]: next.value });
  if (!reaches(reach, { ...member, [input.kind]: next.value })) throw forbiddenByCondition();
  const within = reachable(reach, memberId);
  const taken = await findDuplicate(db, ws, { [input.kind]: next.value }, memberId);
  if (taken) throw await duplicateOf(db, taken, reachFilter(await reachOf(db, caller)));
  const contact = contactFor(input.kind, member);
  if (!contact) {
    throw new ApiError(409, "no_contact", "This member has no email or phone to send the confirmation link to.");
  }
  const token = routedToken(TOKEN_PREFIX.credentialChange, ws);
  const id = newId("crc");
  const at = now();
  const expiresAt = new Date(Date.parse(at) + linkHours(env) * HOUR_MS).toISOString();
  const changeable =
    and(
      memberIsChangeable(memberId),
      outranksMemberSql(caller.scopes, memberId),
      within && memberInReach(within, memberId),
    ) ?? sql`1`;
  const results = await db.batch([
    db
      .update(cc)
      .set({ status: "superseded", updatedAt: at })
      .where(and(eq(cc.memberId, memberId), eq(cc.kind, input.kind), eq(cc.status, "pending"), changeable)),
    insertWhere(
      db,
      cc,
      {
        id,
        workspaceId: ws,
        memberId,
        kind: input.kind,
        oldValue: member[input.kind],
        newValue: next.value,
        newNational: next.national,
        sentTo: contact.channel,
        status: "pending",
        tokenHash: await sha256Hex(token),
        expiresAt,
        requestedBy: caller.memberId || null,
        createdAt: at,
        updatedAt: at,
      },
      changeable,
    ),
    // Names the member by id only (their picture would carry the value being replaced), so
    // the live stream withholds it from watchers whose role has a condition (durable-objects/page.ts).
    appendEvent(db, ws, "credential_change.started", sql`json_object('credentialChange', json(${publicChangeJson}))`, {
      from: sql`${cc} where ${cc.id} = ${id}`,
    }),
    db.select({ json: publicChangeJson }).from(cc).where(eq(cc.id, id)),
  ]);
  const row = (results[results.length - 1] as { json: string }[])[0];
  // No row: the member was archived, promoted above the caller, or left the caller's reach,
  // between the reads above and the batch.
  if (!row) {
    if (within) await assertMemberInReach(db, caller, memberId);
    const current = await loadMember(db, ws, memberId);
    await assertOutranks(db, caller, current.role);
    throw toApiError(notChangeable(current.status));
  }
  return {
    change: parseStarted(row.json),
    delivery: {
      workspaceId: ws,
      memberId,
      kind: input.kind,
      channel: contact.channel,
      to: contact.to,
      name: member.name,
      token,
      newValue: next.value,
    },
  };
}
