import { and, desc, eq, gt, lt, ne, or, sql } from "drizzle-orm";
import type { InferOutput } from "valibot";
import { router } from "../app";
import { route } from "../auth/route";
import { compileOr422 } from "../cel/cel";
import { appendEvent, now } from "../events/append";
import { events } from "../events/table";
import { decodeCursor, page } from "../lib/cursor";
import { ApiError, invalidField, notFound } from "../lib/errors";
import { ListOf } from "../lib/fields";
import { newId } from "../lib/ids";
import { body, query } from "../lib/validate";
import { refuseConditioned } from "../reach/reach";
import { creationRefusal } from "./authority";
import {
  type ActionInput,
  ActionJson,
  CreateAction,
  CreatedActionJson,
  DeliveryJson,
  ListQuery,
  PatchAction,
} from "./schema";
import { newSecret } from "./signature";
import { type ActionRow, type ActionSpec, actionRuns, actions } from "./table";

type RunRow = typeof actionRuns.$inferSelect;

import { triggerHasMember } from "./triggers";
import { refusedWebhookUrl } from "./url";
import { enqueueRuns } from "./webhooks";

const tags = ["Actions"];
const toJson = (row: ActionRow) => ({
  id: row.id,
  name: row.name,
  trigger: row.trigger,
  condition: row.condition,
  action: row.action,
  createdAt: row.createdAt,
  createdBy: row.createdBy,
  paused: row.pausedAt !== null,
  pausedAt: row.pausedAt,
  pausedReason: row.pausedReason,
});
const deliveryJson = ({ workspaceId: _w, actionId: _a, dueAt: _d, leaseUntil: _l, ...run }: RunRow) => run;
const byId = (ws: string, id: string) => and(eq(actions.workspaceId, ws), eq(actions.id, id));

/**
 * An action runs on every member its trigger's events name, whoever may see them: one
 * made by a caller whose role has a condition would label, message or post members
 * beyond it, and its delivery log tells of them. No per-member check can bound that, so
 * such callers manage actions not at all (reading their definitions stays open).
 */
const CONDITIONED =
  "A caller whose role has a condition may not create or delete actions, nor read their deliveries (403 forbidden_by_condition): an action runs on members beyond any condition.";
const conditionedResponse = {
  403: { description: "forbidden: the scope is missing; forbidden_by_condition: your role has a condition" },
} as const;

/** The refusals of a route that defines an action (create, edit). */
const definingResponse = {
  403: {
    description:
      "forbidden: automations:admin is missing; scope_exceeds_caller: the action needs a scope you lack (named); forbidden_by_condition: your role has a condition",
  },
} as const;

/** What creating an action needs (./authority.ts), and what happens when its creator no longer holds it. */
const CREATOR =
  "An action acts with its creator's scopes. Besides automations:admin, its trigger needs the scope that reads its events' family on the live stream (members:read for member.*, join_requests:read for join_request.*, invitations:read for invitation.*, ...; members:admin for message.*), and its action members:write and labels:write (label) or members:write (email, sms); a caller lacking one gets 403 scope_exceeds_caller naming them. " +
  "It runs only while its creator is active and their role grants all of them, without a condition: otherwise, at its next run or delivery, it pauses (`paused`, `pausedReason`; the run shows status paused with the reason) and appends action.paused. A paused action does not run for the events logged while it is paused; PATCH `paused: false` by someone holding the scopes resumes it for later events, with them standing behind it. " +
  "Actions created before creators were recorded (`createdBy` null) pause at their next run.";

type Input = InferOutput<typeof ActionInput>;

/**
 * What an action input does, checked as create and edit both check it: a label action
 * needs a trigger whose events name a member; a webhook a public URL, and its secret the
 * one given, else `keptSecret` (an edit of a webhook's URL keeps its secret), else a new one.
 */
function specOf(input: Input, trigger: string, env: Env, keptSecret: string | null) {
  if (input.type === "label" && !triggerHasMember(trigger)) {
    throw invalidField("action.type", `${trigger} events name no member to label.`);
  }
  if (input.type === "webhook") {
    const refused = refusedWebhookUrl(input.url, env);
    if (refused) throw invalidField("action.url", refused);
    const secret = input.secret ?? keptSecret ?? newSecret();
    return {
      spec: { type: "webhook", url: input.url } as ActionSpec,
      secret,
      shown: secret !== (input.secret ?? keptSecret),
    };
  }
  const spec: ActionSpec =
    input.type === "label"
      ? { type: "label", add: input.add ?? [], remove: input.remove ?? [] }
      : { type: input.type, text: input.text };
  return { spec, secret: null, shown: false };
}

/** The log's head: an action created or resumed now runs for later events only. */
const headOf = (ws: string) =>
  sql<number>`(select coalesce(max(${events.seq}), 0) from ${events} where ${events.workspaceId} = ${ws})`;

/** What a webhook receives (./webhooks.ts). */
const WEBHOOK_BODY =
  'A webhook is POSTed `{"type", "timestamp", "data", "actor"}`: the event\'s type, time and data as ' +
  "GET /v1/events shows them, and `actor`, who caused it.";

export const actionRoutes = router()
  .post(
    "/",
    route({
      summary: "Create an action: a trigger, an optional CEL condition, and a label change, webhook, email or SMS",
      tags,
      auth: "automations:admin",
      description: `${CREATOR} ${CONDITIONED} ${WEBHOOK_BODY}`,
      responses: {
        201: { description: "The action; a webhook's secret is shown this once", schema: CreatedActionJson },
        ...definingResponse,
      },
    }),
    body(CreateAction),
    async (c) => {
      await refuseConditioned(c.var.db, c.var.caller, CONDITIONED);
      const input = c.req.valid("json");
      const ws = c.var.caller.workspaceId;
      const refusal = creationRefusal(c.var.caller.scopes, input);
      if (refusal) throw new ApiError(403, "scope_exceeds_caller", refusal);
      if (input.condition) compileOr422(input.condition, "action");
      const { spec, secret, shown } = specOf(input.action, input.trigger, c.env, null);
      const id = newId("act");
      const at = now();
      const db = c.var.db;
      const head = headOf(ws);
      const [, [row]] = await db.batch([
        db.insert(actions).values({
          id,
          workspaceId: ws,
          name: input.name,
          trigger: input.trigger,
          condition: input.condition ?? null,
          action: spec,
          secret,
          afterSeq: head,
          createdAt: at,
          createdBy: c.var.caller.memberId,
        }),
        db.select().from(actions).where(eq(actions.id, id)),
        appendEvent(
          db,
          ws,
          "action.created",
          sql`json_object('action', json(${JSON.stringify({ id, name: input.name, trigger: input.trigger, condition: input.condition ?? null, action: spec, createdBy: c.var.caller.memberId })}))`,
        ),
      ]);
      if (!row) throw new Error("action vanished inside its own batch");
      const created = toJson(row);
      return c.json(shown ? { ...created, secret } : created, 201);
    },
  )
  .get(
    "/",
    route({
      summary: "List actions (newest first)",
      tags,
      auth: "automations:read",
      responses: { 200: { description: "A page of actions", schema: ListOf(ActionJson) } },
    }),
    query(ListQuery),
    async (c) => {
      const { limit, cursor } = c.req.valid("query");
      const after = cursor ? decodeCursor(cursor, 1)[0] : undefined;
      const rows = await c.var.db
        .select()
        .from(actions)
        .where(and(eq(actions.workspaceId, c.var.caller.workspaceId), after ? lt(actions.id, after) : undefined))
        .orderBy(desc(actions.id))
        .limit(limit + 1);
      const result = page(rows, limit, (row) => [row.id]);
      return c.json({ data: result.data.map(toJson), nextCursor: result.nextCursor });
    },
  )
  .get(
    "/:id",
    route({
      summary: "Get an action, with whether it paused and why",
      tags,
      auth: "automations:read",
      description: CREATOR,
      responses: { 200: { description: "The action", schema: ActionJson } },
    }),
    async (c) => {
      const [row] = await c.var.db
        .select()
        .from(actions)
        .where(byId(c.var.caller.workspaceId, c.req.param("id")));
      if (!row) throw notFound("action");
      return c.json(toJson(row));
    },
  )
  .delete(
    "/:id",
    route({
      summary: "Delete an action and its delivery log; deliveries not yet made are dropped",
      tags,
      auth: "automations:admin",
      description: CONDITIONED,
      responses: { 204: { description: "Deleted" }, ...conditionedResponse },
    }),
    async (c) => {
      await refuseConditioned(c.var.db, c.var.caller, CONDITIONED);
      const ws = c.var.caller.workspaceId;
      const id = c.req.param("id");
      const db = c.var.db;
      const [deleted] = await db.batch([
        db.delete(actions).where(byId(ws, id)),
        appendEvent(db, ws, "action.deleted", { id }, { onlyIfChanged: true }),
        db.delete(actionRuns).where(and(eq(actionRuns.workspaceId, ws), eq(actionRuns.actionId, id))),
      ]);
      if (deleted.meta.changes === 0) throw notFound("action");
      return c.body(null, 204);
    },
  )
  .patch(
    "/:id",
    route({
      summary: "Edit an action: its name, condition or action; pause or resume it",
      tags,
      auth: "automations:admin",
      description:
        "Fields left out stay as they are; the trigger does not change (create another action). The caller must hold what the action needs after the edit, as to create it (403 scope_exceeds_caller). A webhook keeps its secret unless the edit gives one; an action that becomes a webhook gets a new one, shown this once. " +
        "Appends action.updated naming the fields that changed; an edit that changes nothing appends nothing. " +
        `${CREATOR} ${CONDITIONED}`,
      responses: {
        200: { description: "The action; a new webhook secret is shown this once", schema: CreatedActionJson },
        ...definingResponse,
        422: {
          description:
            "`validation_failed`: a condition that does not compile (with its line, column and offset), a refused webhook URL, or a label action on a trigger whose events name no member",
        },
      },
    }),
    body(PatchAction),
    async (c) => {
      await refuseConditioned(c.var.db, c.var.caller, CONDITIONED);
      const input = c.req.valid("json");
      const ws = c.var.caller.workspaceId;
      const id = c.req.param("id");
      const db = c.var.db;
      const [row] = await db.select().from(actions).where(byId(ws, id));
      if (!row) throw notFound("action");
      const refusal = creationRefusal(c.var.caller.scopes, {
        trigger: row.trigger,
        action: input.action ?? row.action,
      });
      if (refusal) throw new ApiError(403, "scope_exceeds_caller", refusal);
      if (input.condition) compileOr422(input.condition, "action");

      const after: ActionRow = { ...row };
      const changed: string[] = [];
      let shownSecret: string | null = null;
      if (input.name !== undefined && input.name !== row.name) {
        after.name = input.name;
        changed.push("name");
      }
      if (input.condition !== undefined && input.condition !== row.condition) {
        after.condition = input.condition;
        changed.push("condition");
      }
      if (input.action) {
        const kept = row.action.type === "webhook" ? row.secret : null;
        const { spec, secret, shown } = specOf(input.action, row.trigger, c.env, kept);
        if (JSON.stringify(spec) !== JSON.stringify(row.action) || secret !== row.secret) {
          after.action = spec;
          after.secret = secret;
          changed.push("action");
        }
        if (shown) shownSecret = secret;
      }
      const resumed = input.paused === false && row.pausedAt !== null;
      if (input.paused === true && row.pausedAt === null) {
        after.pausedAt = now();
        after.pausedReason = `Paused by ${c.var.caller.memberId}.`;
        changed.push("paused");
      } else if (resumed) {
        // The caller holds what it needs (checked above): they stand behind it from now on.
        after.pausedAt = null;
        after.pausedReason = null;
        after.createdBy = c.var.caller.memberId;
        changed.push("paused");
      }
      if (changed.length === 0) return c.json(toJson(row));

      const { id: _i, workspaceId: _w, afterSeq: _a, createdAt: _c, ...set } = after;
      const json = toJson(after);
      const [updated, , [saved]] = await db.batch([
        // Resumed, it runs for events logged from now on, not for those it missed while paused.
        db
          .update(actions)
          .set(resumed ? { ...set, afterSeq: headOf(ws) } : set)
          .where(byId(ws, id)),
        appendEvent(
          db,
          ws,
          "action.updated",
          sql`json_object('action', json(${JSON.stringify(json)}), 'changed', json(${JSON.stringify(changed)}))`,
          { onlyIfChanged: true },
        ),
        db.select().from(actions).where(byId(ws, id)),
      ]);
      // Deleted between the read and the write.
      if (updated.meta.changes === 0 || !saved) throw notFound("action");
      return c.json(shownSecret ? { ...toJson(saved), secret: shownSecret } : toJson(saved));
    },
  )
  .post(
    "/:id/deliveries/:deliveryId/replay",
    route({
      summary: "Deliver a run's event again: one new attempt of a webhook, email or SMS run",
      tags,
      auth: "automations:admin",
      description:
        "The run goes back to pending and its event is delivered again (the same `webhook-id`, a new attempt in `attempts`), whatever became of it: succeeded, failed, dead or paused. A run already waiting for its next attempt is made due now; one whose attempt is due or under way is left as it is, and answered again. Appends action.delivery_replayed when it makes a new attempt due. " +
        CONDITIONED,
      responses: {
        202: { description: "The delivery, pending its new attempt", schema: DeliveryJson },
        409: {
          description:
            "`action_paused`: the action is paused, resume it first; `not_replayable`: a label action's run, which is applied at once, not delivered",
        },
        410: {
          description: "`event_expired`: the run's event is older than the workspace keeps (`eventRetentionDays`)",
        },
        ...conditionedResponse,
      },
    }),
    async (c) => {
      await refuseConditioned(c.var.db, c.var.caller, CONDITIONED);
      const ws = c.var.caller.workspaceId;
      const actionId = c.req.param("id");
      const runId = c.req.param("deliveryId");
      const db = c.var.db;
      const [found] = await db
        .select({ run: actionRuns, action: { name: actions.name, spec: actions.action, pausedAt: actions.pausedAt } })
        .from(actionRuns)
        .innerJoin(actions, eq(actions.id, actionRuns.actionId))
        .where(and(byId(ws, actionId), eq(actionRuns.workspaceId, ws), eq(actionRuns.id, runId)));
      if (!found) throw notFound("delivery");
      if (found.action.pausedAt !== null) throw new ApiError(409, "action_paused");
      if (found.action.spec.type === "label") throw new ApiError(409, "not_replayable");
      const at = now();
      const [made, , [run]] = await db.batch([
        db
          .update(actionRuns)
          .set({ status: "pending", dueAt: at, updatedAt: at })
          .where(
            and(
              eq(actionRuns.id, runId),
              // Not one whose next attempt is already due or under way: a repeated replay adds no attempt.
              or(ne(actionRuns.status, "pending"), gt(actionRuns.dueAt, at)),
              // Nor one whose event the workspace no longer keeps (worker/events/retention.ts).
              sql`exists (select 1 from ${events} where ${events.workspaceId} = ${ws} and ${events.seq} = ${actionRuns.seq})`,
            ),
          ),
        appendEvent(
          db,
          ws,
          "action.delivery_replayed",
          { id: actionId, name: found.action.name, delivery: runId, seq: found.run.seq },
          { onlyIfChanged: true },
        ),
        db.select().from(actionRuns).where(eq(actionRuns.id, runId)),
      ]);
      if (!run) throw notFound("delivery");
      if (made.meta.changes === 0 && run.status !== "pending") throw new ApiError(410, "event_expired");
      if (made.meta.changes > 0) await enqueueRuns(c.env, ws, [runId]);
      return c.json(deliveryJson(run), 202);
    },
  )
  .get(
    "/:id/deliveries",
    route({
      summary: "An action's runs (for webhooks, deliveries) newest first, with every attempt and its outcome",
      tags,
      auth: "automations:read",
      description: CONDITIONED,
      responses: { 200: { description: "A page of deliveries", schema: ListOf(DeliveryJson) }, ...conditionedResponse },
    }),
    query(ListQuery),
    async (c) => {
      await refuseConditioned(c.var.db, c.var.caller, CONDITIONED);
      const ws = c.var.caller.workspaceId;
      const id = c.req.param("id");
      const [action] = await c.var.db.select({ id: actions.id }).from(actions).where(byId(ws, id));
      if (!action) throw notFound("action");
      const { limit, cursor } = c.req.valid("query");
      const after = cursor ? decodeCursor(cursor, 1)[0] : undefined;
      const rows = await c.var.db
        .select()
        .from(actionRuns)
        .where(and(eq(actionRuns.actionId, id), after ? lt(actionRuns.id, after) : undefined))
        .orderBy(desc(actionRuns.id))
        .limit(limit + 1);
      const result = page(rows, limit, (row) => [row.id]);
      return c.json({ data: result.data.map(deliveryJson), nextCursor: result.nextCursor });
    },
  );
