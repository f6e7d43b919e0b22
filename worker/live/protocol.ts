/**
 * The live stream's wire protocol, shared by the workspace Durable Object and the
 * admin view. Every frame is JSON. Events carry `seq`; control and ephemeral messages
 * do not.
 */
import * as v from "valibot";
import { Actor, EVENTS, Event, type EventData, type EventType, isEventType, OutOfReachData } from "../events/registry";

export const MESSAGE = {
  /** server -> client: replay of missed events is done; live events follow. */
  ready: "ready",
  /** server -> client: ephemeral progress of a running import (no seq). */
  importProgress: "import.progress",
  /** client -> server: keep-alive; answered with pong. */
  ping: "ping",
  /** server -> client: answer to ping. */
  pong: "pong",
  /**
   * server -> client: the watcher's own role, its condition, or the watcher's labels
   * changed, so which members it reaches may have changed wholesale: reload what is shown.
   * Events after it are judged by the new reach.
   */
  reachChanged: "reach.changed",
  /**
   * server -> client: a socket resuming with `after` missed events the workspace no longer
   * keeps (its `eventRetentionDays` deleted them): reload what is shown. The replay goes on
   * from `oldest`, the oldest event kept; nothing is silently skipped.
   */
  reset: "reset",
} as const;

/** Close codes the server uses when it ends a connection on purpose. */
export const CLOSE = {
  /**
   * The member was archived, merged or expired, lost the members:read scope, or the
   * credential the socket was opened with (directly or through a ticket) ended: logout,
   * session expiry, key revocation or key expiry.
   */
  accessRevoked: 4003,
  /** The workspace has as many sockets open as it may (LIVE_MAX_SOCKETS): reconnect later. */
  tryAgainLater: 1013,
} as const;

/**
 * server -> client: one committed change from the workspace log, as an envelope whose
 * `data` `knownEvent` parses by its type's schema in the event registry
 * (worker/events/registry.ts). The envelope alone keeps `seq` in step, even for a type
 * this client does not know yet.
 */
export const EventMessage = v.object({
  seq: v.pipe(v.number(), v.integer(), v.minValue(1)),
  type: v.string(),
  at: v.string(),
  data: v.unknown(),
  /** Who caused it (worker/events/actor.ts); of a `member.out_of_reach`, only its `type`. */
  actor: Actor,
});

/**
 * server -> client: the event type a watcher whose role has a condition gets in place of
 * an event that took a member out of its reach (reached at the member's previous event,
 * not at this one). It has the event's own seq and at; its data names only who left:
 * `{member: {id}}`, and `{into: {id}}` when a merge's target left too. Nothing else of
 * the change is sent; the client drops those rows.
 */

export const OUT_OF_REACH = "member.out_of_reach" satisfies EventType;

/** The ids an out-of-reach event names; none for any other event. */
export function outOfReachIds(event: LiveEvent): string[] {
  if (event.type !== OUT_OF_REACH) return [];
  const data = v.safeParse(OutOfReachData, event.data);
  if (!data.success) return [];
  return [data.output.member?.id, data.output.into?.id].filter((id): id is string => id !== undefined);
}

export const ReadyMessage = v.object({ type: v.literal(MESSAGE.ready), head: v.number() });
export const PongMessage = v.object({ type: v.literal(MESSAGE.pong) });
export const ReachChangedMessage = v.object({ type: v.literal(MESSAGE.reachChanged) });
export const ResetMessage = v.object({
  type: v.literal(MESSAGE.reset),
  oldest: v.pipe(v.number(), v.description("The seq of the oldest event kept: the replay resumes there")),
});
export const ImportProgressMessage = v.object({
  type: v.literal(MESSAGE.importProgress),
  importId: v.string(),
  processed: v.number(),
  total: v.nullable(v.number()),
  created: v.number(),
  updated: v.number(),
  failed: v.number(),
  status: v.string(),
  /** Matched rows that changed nothing; upload size and bytes read, for a bar while total is null. */
  unchanged: v.optional(v.number()),
  bytes: v.optional(v.number()),
  bytesProcessed: v.optional(v.number()),
});

export const ServerMessage = v.union([
  EventMessage,
  ReadyMessage,
  PongMessage,
  ImportProgressMessage,
  ReachChangedMessage,
  ResetMessage,
]);
export const ClientMessage = v.object({ type: v.literal(MESSAGE.ping) });

/**
 * What the server sends, as OpenAPI documents it: each event one of the registry's types
 * with its data. ServerMessage, which parses frames, takes any event type instead, so a
 * client keeps `seq` in step with types it does not know yet.
 */
export const LiveMessage = v.union([
  Event,
  ReadyMessage,
  PongMessage,
  ImportProgressMessage,
  ReachChangedMessage,
  ResetMessage,
]);

export type LiveEvent = v.InferOutput<typeof EventMessage>;
export type ServerMessage = v.InferOutput<typeof ServerMessage>;
export type ClientMessage = v.InferOutput<typeof ClientMessage>;
export type EphemeralMessage = v.InferOutput<typeof ImportProgressMessage>;

function parseWith<S extends v.GenericSchema>(schema: S, frame: unknown): v.InferOutput<S> | null {
  if (typeof frame !== "string") return null;
  try {
    const result = v.safeParse(schema, JSON.parse(frame));
    return result.success ? result.output : null;
  } catch {
    return null;
  }
}

/** A frame from the server as a typed message, or null; never throws. */
export const parseServerMessage = (frame: unknown) => parseWith(ServerMessage, frame);

/** A frame from a client as a typed message, or null; never throws. */
export const parseClientMessage = (frame: unknown) => parseWith(ClientMessage, frame);

export const isEvent = (message: ServerMessage): message is LiveEvent => "seq" in message;

/** A live event of a registered type, its data as that type's schema gives it. */
export type KnownEvent = {
  [T in EventType]: Omit<LiveEvent, "type" | "data"> & { type: T; data: EventData<T> };
}[EventType];

/** The event with its data parsed by its type's schema; null for a type this client does not know or data that does not match. */
export function knownEvent(event: LiveEvent): KnownEvent | null {
  if (!isEventType(event.type)) return null;
  const data = v.safeParse(EVENTS[event.type], event.data);
  return data.success ? ({ ...event, data: data.output } as KnownEvent) : null;
}
