import { sql } from "drizzle-orm";
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/** What an action does; a webhook's secret is kept apart, in `actions.secret`, and shown once. */
export type ActionSpec =
  | { type: "webhook"; url: string }
  | { type: "label"; add: string[]; remove: string[] }
  | { type: "email" | "sms"; text: string };

/** Actions: a trigger (an event type or a family, ./triggers.ts), an optional CEL condition, what to do. */
export const actions = sqliteTable(
  "actions",
  {
    id: text().primaryKey(),
    workspaceId: text().notNull(),
    name: text().notNull(),
    trigger: text().notNull(),
    condition: text(),
    action: text({ mode: "json" }).$type<ActionSpec>().notNull(),
    /** Standard Webhooks secret (`whsec_<base64>`) of a webhook action. */
    secret: text(),
    /** The log's head when the action was created: it runs for later events only. */
    afterSeq: integer().notNull(),
    createdAt: text().notNull(),
    /**
     * The member who created it: it runs with their scopes (./authority.ts). Null for
     * actions created before creators were recorded, which pause at their next run.
     */
    createdBy: text(),
    /** When it stopped running for good, and why (its creator lost what it needs); null while it runs. */
    pausedAt: text(),
    pausedReason: text(),
  },
  (t) => [index("actions_by_workspace").on(t.workspaceId, t.trigger)],
);

/** How far each workspace's actions have read its event log (worker/actions/run.ts). */
export const actionCursors = sqliteTable("action_cursors", {
  workspaceId: text().primaryKey(),
  seq: integer().notNull(),
});

export const RUN_STATUSES = ["pending", "succeeded", "failed", "dead", "paused"] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export type Attempt = { at: string; status: number | null; error: string | null; durationMs: number };

/**
 * One run of an action for one event (at most one: unique by action and seq). For
 * webhooks it is the delivery: its id is the `webhook-id`, the same on every retry.
 * Webhook, email and SMS runs are delivered through the "webhooks" queue; `dueAt` says
 * when the queue should next hand a pending run over, so the sweep (./sweep.ts) can
 * enqueue again a run whose message was lost (at-least-once).
 */
export const actionRuns = sqliteTable(
  "action_runs",
  {
    id: text().primaryKey(),
    workspaceId: text().notNull(),
    actionId: text().notNull(),
    seq: integer().notNull(),
    eventType: text().notNull(),
    status: text().$type<RunStatus>().notNull(),
    attempts: text({ mode: "json" }).$type<Attempt[]>().notNull(),
    createdAt: text().notNull(),
    updatedAt: text().notNull(),
    /** When the next attempt of a pending run is due (ISO time); null once it is done. */
    dueAt: text(),
    /** An attempt in flight holds the run until then, so two copies of its message never both deliver. */
    leaseUntil: text(),
  },
  (t) => [
    uniqueIndex("action_runs_once").on(t.actionId, t.seq),
    index("action_runs_by_action").on(t.actionId, t.id),
    index("action_runs_due").on(t.dueAt).where(sql`status = 'pending'`),
  ],
);

export type ActionRow = typeof actions.$inferSelect;
