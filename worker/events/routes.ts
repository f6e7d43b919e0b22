import * as v from "valibot";
import { router } from "../app";
import { route } from "../auth/route";
import { ApiError } from "../lib/errors";
import { Id, Limit, ListOf } from "../lib/fields";
import { query } from "../lib/validate";
import { EVENT_FAMILIES } from "./families";
import { type EventFilter, visibleEvents, watcherFor } from "./reads";
import { EVENT_TYPES, Event } from "./registry";
import { ACTOR_TYPES } from "./schema";

const tags = ["Events"];
const NDJSON = "application/x-ndjson";
/** Reads of the log (of up to 200 rows each, ./reads.ts) one page may take to find its events. */
const MAX_READS = 5;

const Seq = v.pipe(v.string(), v.regex(/^\d{1,15}$/, "A seq: a whole number."), v.toNumber());

const TYPES = new Set<string>([...EVENT_TYPES, ...Object.keys(EVENT_FAMILIES).map((family) => `${family}.*`)]);
const TypeFilter = v.pipe(
  v.string(),
  v.check((type) => TYPES.has(type), "An event type (member.created) or a family (member.*) of the log."),
  v.description("An event type, or a family as `member.*`"),
);
const ACTORS = new Set<string>(ACTOR_TYPES);
const ActorFilter = v.pipe(
  v.string(),
  v.maxLength(100),
  v.check(
    (actor) => ACTORS.has(actor.split(":", 1)[0] ?? ""),
    `An actor type (${ACTOR_TYPES.join(", ")}), or type:id.`,
  ),
  v.check((actor) => !actor.endsWith(":"), "Give the id after the colon, or no colon."),
  v.description("An actor's type (`member`), or `type:id` (`member:mem_…`, `action:act_…`, `import:imp_…`)"),
);
const Filters = {
  type: v.optional(TypeFilter),
  member: v.optional(v.pipe(Id, v.description("Events whose `member` is this member"))),
  actor: v.optional(ActorFilter),
};

const EventsQuery = v.strictObject({
  after: v.optional(v.pipe(Seq, v.description("Events after this seq (the previous page's `nextCursor`)"))),
  cursor: v.optional(v.pipe(Seq, v.description("The same as `after`: the list convention's name for it"))),
  ...Filters,
  limit: Limit,
});

/** A seq (digits) or an ISO 8601 time. */
const Bound = v.pipe(
  v.string(),
  v.maxLength(40),
  v.check(
    (b) => /^\d{1,15}$/.test(b) || (v.is(v.pipe(v.string(), v.isoTimestamp()), b) && !Number.isNaN(Date.parse(b))),
    "A seq or an ISO 8601 time such as 2026-12-01T00:00:00Z.",
  ),
);
const ExportQuery = v.strictObject({
  from: v.optional(v.pipe(Bound, v.description("From this seq, or this time (inclusive)"))),
  to: v.optional(v.pipe(Bound, v.description("Up to this seq, or this time (exclusive)"))),
  ...Filters,
});

const VISIBILITY =
  "Each caller sees what the live stream (GET /v1/live) would send it: each family only with its read scope, " +
  "nothing about anonymous, merged or expired members without members:admin, and under a role condition only " +
  "events about members the condition reaches (an event that took a member out of reach comes as " +
  "`member.out_of_reach`, its ids only). Every event names its `actor`. " +
  "`type`: an exact type or a family (`member.*`); `member`: events whose `member` is that member; " +
  "`actor`: an actor type (`member`, `platform`, `public`, `provider`, `import`, `action`, `system`) or `type:id` " +
  "(`member:<member id>` covers that member's sessions and keys).";

const refused = {
  403: { description: "`forbidden`: not a team member with members:read (as the live stream)" },
};

/** A bound as a seq or a time; a time given as e.g. `2026-12-01T00:00:00Z` is compared as events store `at`. */
function bound(value: string | undefined): { seq?: number; at?: string } {
  if (value === undefined) return {};
  if (/^\d+$/.test(value)) return { seq: Number(value) };
  return { at: new Date(value).toISOString() };
}

export const eventRoutes = router()
  .get(
    "/",
    route({
      summary: "The workspace's event log, oldest first, in pages (cursor = seq)",
      description:
        `${VISIBILITY} Pages follow the list convention: pass \`nextCursor\` back as \`after\` (or \`cursor\`). ` +
        "A page may hold fewer than `limit` events (even none) while `nextCursor` is not null: the log is read " +
        "in bounded steps, and events the caller may not see are skipped. `nextCursor` is null at the log's end. " +
        "A workspace with `eventRetentionDays` keeps fewer: an `after` older than the oldest kept event answers from the oldest kept (compare the first `seq` with `after` + 1 to know what was deleted).",
      tags,
      auth: "members:read",
      responses: {
        200: { description: "A page of events", schema: ListOf(Event) },
        ...refused,
      },
    }),
    query(EventsQuery),
    async (c) => {
      const { after, cursor, limit, ...filter } = c.req.valid("query");
      if (after !== undefined && cursor !== undefined && after !== cursor) {
        throw new ApiError(400, "invalid_cursor", "Give `after` or `cursor`, not two different seqs.");
      }
      const caller = c.var.caller;
      const watcher = await watcherFor(c.var.db, caller);
      const data: unknown[] = [];
      let next: number | null = null;
      let reads = 0;
      for await (const read of visibleEvents(c.var.db, caller.workspaceId, watcher, after ?? cursor ?? 0, filter)) {
        for (const frame of read.frames) {
          const event = JSON.parse(frame) as { seq: number };
          data.push(event);
          if (data.length === limit) break;
        }
        const lastSent = (data.at(-1) as { seq: number } | undefined)?.seq;
        if (data.length === limit) {
          // More may follow the last event sent, in this read or after it.
          next = lastSent !== undefined && (read.more || lastSent < read.lastSeq) ? lastSent : null;
          break;
        }
        next = read.more ? read.lastSeq : null;
        // A bounded number of reads per request: the next page goes on from where they stopped.
        if (!read.more || ++reads >= MAX_READS) break;
      }
      return c.json({ data, nextCursor: next === null ? null : String(next) });
    },
  )
  .get(
    "/export",
    route({
      summary: "Export the event log as NDJSON (one event a line, oldest first)",
      description:
        `${VISIBILITY} \`from\` and \`to\` are each a seq or an ISO 8601 time (of \`at\`): from inclusive, to ` +
        "exclusive; without them, the whole log (what `eventRetentionDays` keeps). The response streams, read from the log a bounded step at a time.",
      tags,
      auth: "members:read",
      responses: {
        200: { description: "One Event (JSON) per line", contentType: NDJSON },
        ...refused,
      },
    }),
    query(ExportQuery),
    async (c) => {
      const { from, to, ...rest } = c.req.valid("query");
      const [start, end] = [bound(from), bound(to)];
      const filter: EventFilter = { ...rest, fromSeq: start.seq, fromAt: start.at, toSeq: end.seq, toAt: end.at };
      const caller = c.var.caller;
      const db = c.var.db;
      const watcher = await watcherFor(db, caller);
      const reads = visibleEvents(db, caller.workspaceId, watcher, 0, filter);
      const encoder = new TextEncoder();
      const body = new ReadableStream<Uint8Array>({
        // One bounded read of the log per pull: the stream's reader sets the pace.
        async pull(controller) {
          const read = await reads.next();
          if (read.done) return controller.close();
          if (read.value.frames.length > 0) controller.enqueue(encoder.encode(`${read.value.frames.join("\n")}\n`));
        },
        async cancel() {
          await reads.return(undefined);
        },
      });
      return new Response(body, {
        headers: {
          "Content-Type": `${NDJSON}; charset=utf-8`,
          "Content-Disposition": `attachment; filename="events-${caller.workspaceId}.ndjson"`,
        },
      });
    },
  );
