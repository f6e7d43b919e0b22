import { and, desc, eq, lt, sql } from "drizzle-orm";
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
import { ActionJson, CreateAction, CreatedActionJson, DeliveryJson, ListQuery } from "./schema";
import { newSecret } from "./signature";
import { type ActionRow, type ActionSpec, actionRuns, actions } from "./table";
import { refusedWebhookUrl } from "./url";

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

/** What creating an action needs (./authority.ts), and what happens when its creator no longer holds it. */
const CREATOR =
  "An action acts with its creator's scopes. Besides automations:admin, its trigger needs members:read (member.*), join_requests:read (join_request.created) or members:admin (message.received), and its action members:write and labels:write (label) or members:write (email, sms); a caller lacking one gets 403 scope_exceeds_caller naming them. " +
  "It runs only while its creator is active and their role grants all of them, without a condition: otherwise, at its next run or delivery, it pauses for good (`paused`, `pausedReason`; the run shows status paused with the reason) and appends action.paused. A paused action does not run for later events, even once its creator holds the scopes again: someone holding them creates it again. " +
  "Actions created before creators were recorded (`createdBy` null) pause at their next run.";

/** Triggers whose events carry no member: an action there cannot change a member's labels. */
const NO_MEMBER = new Set(["join_request.created"]);

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
        403: {
          description:
            "forbidden: automations:admin is missing; scope_exceeds_caller: the action needs a scope you lack (named); forbidden_by_condition: your role has a condition",
        },
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
      if (input.action.type === "label" && NO_MEMBER.has(input.trigger)) {
        throw invalidField("action.type", `${input.trigger} has no member to label.`);
      }
      let spec: ActionSpec;
      let secret: string | null = null;
      if (input.action.type === "webhook") {
        const refused = refusedWebhookUrl(input.action.url, c.env);
        if (refused) {
          throw invalidField("action.url", refused);
        }
        spec = { type: "webhook", url: input.action.url };
        secret = input.action.secret ?? newSecret();
      } else if (input.action.type === "label") {
        spec = { type: "label", add: input.action.add ?? [], remove: input.action.remove ?? [] };
      } else {
        spec = { type: input.action.type, text: input.action.text };
      }
      const id = newId("act");
      const at = now();
      const db = c.var.db;
      const head = sql<number>`(select coalesce(max(${events.seq}), 0) from ${events} where ${events.workspaceId} = ${ws})`;
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
      return c.json(input.action.type === "webhook" && !input.action.secret ? { ...created, secret } : created, 201);
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
      const data = result.data.map(({ workspaceId: _w, actionId: _a, dueAt: _d, leaseUntil: _l, ...run }) => run);
      return c.json({ data, nextCursor: result.nextCursor });
    },
  );
