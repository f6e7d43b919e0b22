import { and, eq, not, notInArray, type SQL, sql } from "drizzle-orm";
import { appendEvent, now } from "../events/append";
import type { Db } from "../lib/db";
import { newId } from "../lib/ids";
import { insertWhere } from "../lib/insert-where";
import { memberJson } from "../members/json";
import type { NormalizedPhone } from "../members/phone";
import { members } from "../members/table";
import { USER } from "../roles/builtin";
import { memberEventData, messageJson } from "./json";
import { anonymousResolutions, type InboundChannel, memberIdentities, messages } from "./table";

export type Inbound = {
  workspaceId: string;
  channel: InboundChannel;
  /** MessageSid or CallSid. */
  providerId: string;
  from: NormalizedPhone & { display: string };
  to: string | null;
  body: string | null;
  callStatus: string | null;
  callDuration: number | null;
};

/** Call statuses after which a late or retried callback must not change the call. */
const FINAL_CALL_STATUSES = ["completed", "busy", "failed", "no-answer", "canceled"];

/**
 * Stores an inbound SMS or call in ONE batch, so concurrent deliveries and merges
 * serialize against it:
 * 1. An unknown number creates the anonymous member. Its phone is unique per workspace,
 *    so of 100 racing first messages one insert wins and the rest do nothing
 *    (`on conflict do nothing`), with its resolution record, identity and event.
 * 2. The message's member is looked up inside the insert: the number's identity (an
 *    anonymous member, or whom it was resolved into) before a member's own phone. A
 *    merge moves the identity in its own batch, so a message lands either before it
 *    (and moves with the history) or after it (on the target), never on the merged record.
 * 3. The provider id is unique: a retry inserts nothing and announces nothing.
 * Returns whether the message (or call) is new.
 */
export async function ingest(db: Db, inbound: Inbound): Promise<{ stored: boolean }> {
  const ws = inbound.workspaceId;
  const phone = inbound.from.e164;
  const memberId = newId("mem");
  const messageId = newId("msg");
  const at = now();
  const identityOf = sql`(select ${memberIdentities.memberId} from ${memberIdentities}
    where ${memberIdentities.workspaceId} = ${ws} and ${memberIdentities.phone} = ${phone})`;
  const holderOfPhone = sql`(select ${members.id} from ${members}
    where ${members.workspaceId} = ${ws} and ${members.phone} = ${phone})`;
  const created = sql`exists (select 1 from ${members} where ${members.id} = ${memberId})`;
  const recipient = sql`(select ${messages.memberId} from ${messages} where ${messages.id} = ${messageId})`;
  const byProviderId = and(eq(messages.workspaceId, ws), eq(messages.providerId, inbound.providerId));

  const statements = [
    insertWhere(
      db,
      members,
      {
        id: memberId,
        workspaceId: ws,
        name: inbound.from.display,
        phone,
        phoneNational: inbound.from.national,
        role: USER.key,
        type: USER.type,
        status: "anonymous",
        labels: [],
        createdAt: at,
        updatedAt: at,
      },
      sql`${identityOf} is null and not exists (select 1 from ${messages} where ${byProviderId})`,
    ).onConflictDoNothing(),
    insertWhere(
      db,
      anonymousResolutions,
      { memberId, workspaceId: ws, identifier: phone, status: "pending", createdAt: at },
      created,
    ),
    insertWhere(
      db,
      memberIdentities,
      { workspaceId: ws, phone, memberId, createdAt: at },
      created,
    ).onConflictDoNothing(),
    appendEvent(db, ws, "member.created", memberEventData(), {
      from: sql`${members} where ${members.id} = ${memberId}`,
    }),
    db
      .insert(messages)
      .values({
        id: messageId,
        workspaceId: ws,
        memberId: sql`coalesce(${identityOf}, ${holderOfPhone})`,
        channel: inbound.channel,
        direction: "inbound",
        body: inbound.body,
        providerId: inbound.providerId,
        fromNumber: phone,
        toNumber: inbound.to,
        callStatus: inbound.callStatus,
        callDuration: inbound.callDuration,
        at,
        updatedAt: at,
      })
      .onConflictDoNothing({ target: [messages.workspaceId, messages.providerId] }),
    appendEvent(db, ws, "message.received", messageEventData(), {
      from: messageWithMember(eq(messages.id, messageId)),
    }),
    // An expired anonymous member who writes again is pending again (its history intact).
    db
      .update(members)
      .set({ status: "anonymous", updatedAt: at })
      .where(and(sql`${members.id} = ${recipient}`, eq(members.status, "expired"))),
    appendEvent(db, ws, "member.updated", memberEventData(), {
      from: sql`${members} where ${members.id} = ${recipient}`,
      onlyIfChanged: true,
    }),
    db
      .update(anonymousResolutions)
      .set({ status: "pending", resolvedBy: null, resolvedAt: null })
      .where(
        and(
          sql`${anonymousResolutions.memberId} = ${recipient}`,
          eq(anonymousResolutions.status, "expired"),
          sql`exists (select 1 from ${members} where ${members.id} = ${recipient} and ${members.status} = 'anonymous')`,
        ),
      ),
  ] as const;

  if (inbound.channel === "voice" && inbound.callStatus) {
    // A status callback for a call already stored: the same call, a newer status.
    const [first, ...rest] = statements;
    const results = await db.batch([
      first,
      ...rest,
      db
        .update(messages)
        .set({ callStatus: inbound.callStatus, callDuration: inbound.callDuration, updatedAt: at })
        .where(
          and(
            byProviderId,
            not(eq(messages.id, messageId)),
            sql`${messages.callStatus} is not ${inbound.callStatus}`,
            notInArray(sql`coalesce(${messages.callStatus}, '')`, FINAL_CALL_STATUSES),
          ),
        ),
      appendEvent(db, ws, "message.updated", messageEventData(), {
        from: messageWithMember(byProviderId),
        onlyIfChanged: true,
      }),
    ]);
    return { stored: (results[4]?.meta.changes ?? 0) > 0 || (results[9]?.meta.changes ?? 0) > 0 };
  }
  const [first, ...rest] = statements;
  const results = await db.batch([first, ...rest]);
  return { stored: (results[4]?.meta.changes ?? 0) > 0 };
}

const messageEventData = () => sql`json_object('message', json(${messageJson}), 'member', json(${memberJson}))`;

const messageWithMember = (where: SQL | undefined) =>
  sql`${messages} join ${members} on ${members.id} = ${messages.memberId} where ${where}`;
