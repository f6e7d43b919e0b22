/**
 * Every event type the workspace log holds, with a valibot schema of its `data`: the
 * Worker appends only these types (`appendEvent` takes data typed from here), OpenAPI
 * documents `Event` as one of them, and the admin view parses live events with them
 * (worker/live/protocol.ts). Data built in JS is checked when it compiles; data built by
 * SQL from the rows a batch leaves (most of it) is checked against these schemas for every
 * event the tests append (test/apply-migrations.ts).
 *
 * Only wire shapes and valibot here: the admin view bundles this module, so nothing of
 * D1, drizzle or the server may come with it. Shapes whose schema lives beside server-only
 * code (roles, actions, messages) name only what identifies them.
 */
import * as v from "valibot";
import { ApiKeyJson } from "../api-keys/schema";
import { Actor } from "../events/schema";
import { InvitationJson } from "../invitations/schema";
import { JoinRequestJson } from "../join-requests/schema";
import { LabelJson } from "../labels/schema";
import { MemberJson } from "../members/schema";
import { OUTBOX_CHANNELS } from "../outbox/schema";
import type { EventFamily } from "./families";

export { Actor };

const Ref = v.object({ id: v.string() });
const Slugs = v.array(v.string());
/** A change an action made: which action, and how many actions deep, so chains end. */
const CausedBy = v.object({ action: v.string(), depth: v.number() });
/** The import whose chunk made the change. */
const ImportId = v.optional(v.string());

const MemberChange = v.object({ member: MemberJson, importId: ImportId });
const LabelChange = v.object({ member: MemberJson, labels: Slugs, importId: ImportId, causedBy: v.optional(CausedBy) });
const InvitationChange = v.object({ invitation: InvitationJson, member: MemberJson });
const JoinRequestChange = v.object({ joinRequest: JoinRequestJson });
/** A role as its events show it (GET /v1/roles has the whole). */
const RoleRef = v.looseObject({ key: v.string(), name: v.string(), scopes: v.array(v.string()) });
/** An inbound SMS or call, as GET /v1/members/{id}/messages lists it. */
const MessageRef = v.looseObject({ id: v.string(), channel: v.string(), body: v.nullable(v.string()) });
const MessageChange = v.object({ message: MessageRef, member: MemberJson });

/**
 * What a watcher whose role has a condition gets in place of an event that took a member
 * out of its reach: the ids only (`into` when a merge's target left too).
 */
export const OutOfReachData = v.object({ member: v.optional(Ref), into: v.optional(Ref) });

export const EVENTS = {
  "member.created": MemberChange,
  "member.updated": MemberChange,
  "member.archived": MemberChange,
  "member.unarchived": MemberChange,
  "member.expired": MemberChange,
  "member.labeled": LabelChange,
  "member.unlabeled": LabelChange,
  /** An anonymous member's history moved into `into`; `moved`: how many messages. */
  "member.merged": v.object({ member: MemberJson, into: MemberJson, moved: v.number() }),
  /** A merge undone: `member` is anonymous again; `from` the id it had been merged into, `into` that member. */
  "member.unmerged": v.object({
    member: MemberJson,
    from: v.string(),
    undoneBy: v.nullable(v.string()),
    into: MemberJson,
  }),
  /** Old and new values stay out of the log: every `members:read` watcher receives it. */
  "member.credential_changed": v.object({
    member: MemberJson,
    credentialChange: v.object({ id: v.string(), kind: v.string() }),
  }),
  /** Sent by the live stream only (never in the log): see OutOfReachData. */
  "member.out_of_reach": OutOfReachData,
  "message.received": MessageChange,
  "message.updated": MessageChange,
  "session.created": v.object({ session: v.object({ id: v.string(), memberId: v.string() }), member: MemberJson }),
  "session.ended": v.object({ session: Ref, member: MemberJson }),
  "label.created": v.object({ label: LabelJson }),
  /** PATCH /v1/labels/{slug}: the label as it now is (its slug never changes). */
  "label.updated": v.object({ label: LabelJson }),
  "label.deleted": v.object({ slug: v.string() }),
  "role.created": v.object({ role: RoleRef }),
  "role.updated": v.object({ role: RoleRef }),
  "role.deleted": v.object({ key: v.string() }),
  "invitation.created": InvitationChange,
  "invitation.resent": InvitationChange,
  "invitation.revoked": InvitationChange,
  "invitation.accepted": InvitationChange,
  "join_request.created": JoinRequestChange,
  "join_request.approved": JoinRequestChange,
  "join_request.denied": JoinRequestChange,
  /** The action as GET /v1/actions/{id} shows it. */
  "action.created": v.object({ action: v.looseObject({ id: v.string(), name: v.string(), trigger: v.string() }) }),
  "action.deleted": Ref,
  /** PATCH /v1/actions/{id}: `changed` names the fields sent that changed; `action` is the result (never its secret). */
  "action.updated": v.object({
    action: v.looseObject({ id: v.string(), name: v.string(), trigger: v.string(), paused: v.boolean() }),
    changed: v.array(v.string()),
  }),
  /** A run's event delivered again on request (POST .../deliveries/{deliveryId}/replay). */
  "action.delivery_replayed": v.object({ id: v.string(), name: v.string(), delivery: v.string(), seq: v.number() }),
  /** Its creator no longer stands behind it (left, or lost a scope it needs): `reason` says which. */
  "action.paused": v.object({ id: v.string(), name: v.string(), reason: v.string() }),
  /** What changed of the SMS provider, never its auth token. */
  "settings.sms_updated": v.object({
    provider: v.string(),
    accountSid: v.string(),
    numbers: v.array(v.string()),
    anonymousExpiryDays: v.nullable(v.number()),
    authTokenChanged: v.boolean(),
  }),
  /** The fields PATCH /v1/workspace changed. */
  "workspace.updated": v.object({
    name: v.optional(v.string()),
    allowJoinRequests: v.optional(v.boolean()),
    rateLimitPerMinute: v.optional(v.number()),
    eventRetentionDays: v.optional(v.nullable(v.number())),
  }),
  "api_key.created": v.object({ apiKey: ApiKeyJson, member: MemberJson }),
  /** With the key's member whole, so the live stream can judge who may see it. */
  "api_key.revoked": v.object({ id: v.string(), member: MemberJson }),
  "credential_change.started": v.object({
    credentialChange: v.object({
      id: v.string(),
      memberId: v.string(),
      kind: v.string(),
      status: v.string(),
      sentTo: v.picklist(OUTBOX_CHANNELS),
      expiresAt: v.string(),
    }),
  }),
} as const satisfies Record<`${EventFamily}.${string}`, v.GenericSchema>;

export type EventType = keyof typeof EVENTS;
export const EVENT_TYPES = Object.keys(EVENTS) as EventType[];

/** An event's `data` as the Worker writes it (input) and a client reads it (output). */
export type EventData<T extends EventType> = v.InferOutput<(typeof EVENTS)[T]>;

export const isEventType = (type: string): type is EventType => Object.hasOwn(EVENTS, type);

/** One event of the log as the live stream and GET /v1/events send it. */
const eventOf = <T extends EventType>(type: T) =>
  v.object({
    seq: v.pipe(v.number(), v.integer(), v.minValue(1)),
    type: v.literal(type),
    at: v.string(),
    data: EVENTS[type] as (typeof EVENTS)[T],
    actor: Actor,
  });

type EventSchemas = { [T in EventType]: ReturnType<typeof eventOf<T>> };

/** Every event, told apart by `type`: OpenAPI's `Event`. */
export const Event = v.variant(
  "type",
  EVENT_TYPES.map((type) => eventOf(type)) as unknown as EventSchemas[EventType][],
);
export type Event = v.InferOutput<typeof Event>;
