import { sql } from "drizzle-orm";
import * as v from "valibot";
import { Id, Timestamp } from "../lib/fields";
import { memberJson } from "../members/json";
import { INBOUND_CHANNELS, messages, RESOLUTION_STATUSES } from "./table";

/**
 * The contract's message JSON ({id, channel, direction, body, providerId, at}, plus the
 * member, numbers and call status), built by SQL so events read the row as committed.
 */
export const messageJson = sql<string>`json_object(
  'id', ${messages.id}, 'memberId', ${messages.memberId}, 'channel', ${messages.channel},
  'direction', ${messages.direction}, 'body', ${messages.body}, 'providerId', ${messages.providerId},
  'from', ${messages.fromNumber}, 'to', ${messages.toNumber}, 'callStatus', ${messages.callStatus},
  'callDuration', ${messages.callDuration}, 'at', ${messages.at})`;

export const MessageJson = v.object({
  id: Id,
  memberId: Id,
  channel: v.picklist(INBOUND_CHANNELS),
  direction: v.picklist(["inbound", "outbound"]),
  body: v.nullable(v.string()),
  providerId: v.string(),
  from: v.string(),
  to: v.nullable(v.string()),
  callStatus: v.nullable(v.string()),
  callDuration: v.nullable(v.number()),
  at: Timestamp,
});

export type Message = v.InferOutput<typeof MessageJson>;

/** Event data of member events: the member as committed, plus any extra JSON fields. */
export const memberEventData = (extra = sql``) => sql`json_object('member', json(${memberJson})${extra})`;

export const ResolutionJson = v.object({
  memberId: Id,
  identifier: v.string(),
  status: v.picklist(RESOLUTION_STATUSES),
  resolvedInto: v.nullable(Id),
  resolvedBy: v.nullable(v.pipe(v.string(), v.description('A member id, or "system" for the scheduled expiry.'))),
  resolvedAt: v.nullable(Timestamp),
  createdAt: Timestamp,
});
