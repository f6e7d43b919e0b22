import { and, eq, not, notInArray, type SQL, sql } from "drizzle-orm";
import { appendEvent, now } from "../events/append";
import type { Actor } from "../events/schema";
import { type Db, preparedBatch } from "../lib/db";
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
 * 4. An expired anonymous member who writes again is pending again.
 * The batch's SQL is built once per isolate (`preparedBatch`): building it with drizzle
 * for every message cost more CPU than D1 running it.
 * Returns whether the message (or call) is new.
 */
export async function ingest(db: Db, inbound: Inbound): Promise<{ stored: boolean }> {
  const values = {
    ws: inbound.workspaceId,
    phone: inbound.from.e164,
    phoneNational: inbound.from.national,
    name: inbound.from.display,
    memberId: newId("mem"),
    messageId: newId("msg"),
    channel: inbound.channel,
    body: inbound.body,
    providerId: inbound.providerId,
    to: inbound.to,
    callStatus: inbound.callStatus,
    callDuration: inbound.callDuration,
    at: now(),
    // The provider caused its events (worker/events/actor.ts); `id` the MessageSid or CallSid.
    actor: JSON.stringify({ type: "provider", id: inbound.providerId, name: "twilio" } satisfies Actor),
  } satisfies Record<Param, unknown>;
  if (inbound.channel === "voice" && inbound.callStatus) {
    const results = await ingestCallStatus(db, values);
    return { stored: (results[4]?.meta.changes ?? 0) > 0 || (results[9]?.meta.changes ?? 0) > 0 };
  }
  const results = await ingestMessage(db, values);
  return { stored: (results[4]?.meta.changes ?? 0) > 0 };
}

type Param =
  | "ws"
  | "phone"
  | "phoneNational"
  | "name"
  | "memberId"
  | "messageId"
  | "channel"
  | "body"
  | "providerId"
  | "to"
  | "callStatus"
  | "callDuration"
  | "at"
  | "actor";
const p = (name: Param) => sql.placeholder(name);

/** The number's identity (the anonymous member, or whom it was resolved into). */
const identityOf = sql`(select ${memberIdentities.memberId} from ${memberIdentities}
  where ${memberIdentities.workspaceId} = ${p("ws")} and ${memberIdentities.phone} = ${p("phone")})`;
/** Whom the number leads to: its identity before a member's own phone. */
const ledTo = sql`coalesce(${identityOf}, (select ${members.id} from ${members}
  where ${members.workspaceId} = ${p("ws")} and ${members.phone} = ${p("phone")}))`;
const byProviderId = and(eq(messages.workspaceId, p("ws")), eq(messages.providerId, p("providerId")));
/**
 * Whom a repeated provider id's message is already on. SQLite checks NOT NULL before the
 * unique index, so a retry from a number that no longer leads to anyone (the member's phone
 * changed since) needs a member for its row to reach the conflict and be dropped.
 */
const storedRecipient = sql`(select ${messages.memberId} from ${messages} where ${byProviderId})`;

/**
 * The message, on the member the number leads to; a retry inserts nothing. Unconditional
 * (`where true`, which SQLite's upsert after a SELECT needs): a new message from a number
 * that led to no one would break NOT NULL and fail the batch, as it should, rather than
 * drop the message.
 */
const insertMessage = (db: Db) =>
  insertWhere(
    db,
    messages,
    {
      id: p("messageId"),
      workspaceId: p("ws"),
      memberId: sql`coalesce(${ledTo}, ${storedRecipient})`,
      channel: p("channel"),
      direction: "inbound",
      body: p("body"),
      providerId: p("providerId"),
      fromNumber: p("phone"),
      toNumber: p("to"),
      callStatus: p("callStatus"),
      callDuration: p("callDuration"),
      at: p("at"),
      updatedAt: p("at"),
    },
    sql`true`,
  ).onConflictDoNothing({ target: [messages.workspaceId, messages.providerId] });

/** `message.received`, appended only if the message was inserted. */
const announce = (db: Db) =>
  appendEvent(db, p("ws"), "message.received", messageEventData(), {
    from: messageWithMember(eq(messages.id, p("messageId"))),
    at: p("at"),
    actor: p("actor"),
  });

/** Creates the anonymous member if need be, stores the message and un-expires its member. */
const messageStatements = (db: Db) => {
  const created = sql`exists (select 1 from ${members} where ${members.id} = ${p("memberId")})`;
  const recipient = sql`(select ${messages.memberId} from ${messages} where ${messages.id} = ${p("messageId")})`;
  return [
    insertWhere(
      db,
      members,
      {
        id: p("memberId"),
        workspaceId: p("ws"),
        name: p("name"),
        phone: p("phone"),
        phoneNational: p("phoneNational"),
        role: USER.key,
        type: USER.type,
        status: "anonymous",
        labels: [],
        createdAt: p("at"),
        updatedAt: p("at"),
      },
      sql`${identityOf} is null and not exists (select 1 from ${messages} where ${byProviderId})`,
    ).onConflictDoNothing(),
    insertWhere(
      db,
      anonymousResolutions,
      { memberId: p("memberId"), workspaceId: p("ws"), identifier: p("phone"), status: "pending", createdAt: p("at") },
      created,
    ),
    insertWhere(
      db,
      memberIdentities,
      { workspaceId: p("ws"), phone: p("phone"), memberId: p("memberId"), createdAt: p("at") },
      created,
    ).onConflictDoNothing(),
    appendEvent(db, p("ws"), "member.created", memberEventData(), {
      from: sql`${members} where ${members.id} = ${p("memberId")}`,
      at: p("at"),
      actor: p("actor"),
    }),
    insertMessage(db),
    announce(db),
    // An expired anonymous member who writes again is pending again (its history intact).
    db
      .update(members)
      .set({ status: "anonymous", updatedAt: sql`${p("at")}` })
      .where(and(sql`${members.id} = ${recipient}`, eq(members.status, "expired"))),
    appendEvent(db, p("ws"), "member.updated", memberEventData(), {
      from: sql`${members} where ${members.id} = ${recipient}`,
      onlyIfChanged: true,
      at: p("at"),
      actor: p("actor"),
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
};

const ingestMessage = preparedBatch(messageStatements);

/** With a call's status: a callback for a call already stored updates that call. */
const ingestCallStatus = preparedBatch((db) => [
  ...messageStatements(db),
  db
    .update(messages)
    .set({ callStatus: sql`${p("callStatus")}`, callDuration: sql`${p("callDuration")}`, updatedAt: sql`${p("at")}` })
    .where(
      and(
        byProviderId,
        not(eq(messages.id, p("messageId"))),
        sql`${messages.callStatus} is not ${p("callStatus")}`,
        notInArray(sql`coalesce(${messages.callStatus}, '')`, FINAL_CALL_STATUSES),
      ),
    ),
  appendEvent(db, p("ws"), "message.updated", messageEventData(), {
    from: messageWithMember(byProviderId),
    onlyIfChanged: true,
    at: p("at"),
    actor: p("actor"),
  }),
]);

const messageEventData = () => sql`json_object('message', json(${messageJson}), 'member', json(${memberJson}))`;

const messageWithMember = (where: SQL | undefined) =>
  sql`${messages} join ${members} on ${members.id} = ${messages.memberId} where ${where}`;
