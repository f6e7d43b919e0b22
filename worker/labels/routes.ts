import { and, asc, eq, gt, sql } from "drizzle-orm";
import { router } from "../app";
import { route } from "../auth/route";
import { appendEvent, now } from "../events/append";
import { events } from "../events/table";
import { decodeCursor, page } from "../lib/cursor";
import { ApiError, invalidField, notFound } from "../lib/errors";
import { ListOf, PageQuery } from "../lib/fields";
import { body, query } from "../lib/validate";
import { holdersOf } from "../members/holders";
import { memberJson } from "../members/json";
import { labelsWithout } from "../members/label-sql";
import { members } from "../members/table";
import { conditionRefusal, reachableRows, reachOf } from "../reach/reach";
import { reachGuard } from "../reach/table";
import { DEFAULT_COLOR, slugify } from "./ensure";
import { CreateLabel, LabelJson } from "./schema";
import { labels as labelsTable } from "./table";

const tags = ["Labels"];
const label = { description: "The label", schema: LabelJson };
const toJson = ({ workspaceId: _, ...rest }: typeof labelsTable.$inferSelect) => rest;

export const labels = router()
  .get(
    "/",
    route({
      summary: "List labels (by name, in pages)",
      tags,
      auth: "labels:read",
      responses: {
        200: { description: "A page of labels, by name; follow `nextCursor` for the rest", schema: ListOf(LabelJson) },
      },
    }),
    query(PageQuery),
    async (c) => {
      const { limit, cursor } = c.req.valid("query");
      // Names are unique per workspace (labels_name), so the last name is the page's key.
      const after = cursor ? decodeCursor(cursor, 1)[0] : undefined;
      const rows = await c.var.db
        .select()
        .from(labelsTable)
        .where(
          and(eq(labelsTable.workspaceId, c.var.caller.workspaceId), after ? gt(labelsTable.name, after) : undefined),
        )
        .orderBy(asc(labelsTable.name))
        .limit(limit + 1);
      const result = page(rows, limit, (row) => [row.name]);
      return c.json({ data: result.data.map(toJson), nextCursor: result.nextCursor });
    },
  )
  .post(
    "/",
    route({ summary: "Create a label", tags, auth: "labels:write", responses: { 201: label } }),
    body(CreateLabel),
    async (c) => {
      const input = c.req.valid("json");
      const ws = c.var.caller.workspaceId;
      const slug = input.slug ?? slugify(input.name);
      if (!slug) {
        throw invalidField("slug", "Give a slug: the name has no letters or digits to make one from.");
      }
      const row = {
        workspaceId: ws,
        slug,
        name: input.name,
        color: input.color ?? DEFAULT_COLOR,
        description: input.description ?? null,
        createdAt: now(),
      };
      const [inserted] = await c.var.db.batch([
        c.var.db.insert(labelsTable).values(row).onConflictDoNothing().returning({ slug: labelsTable.slug }),
        appendEvent(c.var.db, ws, "label.created", { label: toJson(row) }, { onlyIfChanged: true }),
      ]);
      if (inserted.length === 0) throw new ApiError(409, "duplicate", "A label with this name or slug exists.");
      return c.json(toJson(row), 201);
    },
  )
  .delete(
    "/:slug",
    route({
      summary: "Delete a label and remove it from every member",
      description:
        "Each member who held it gets a member.unlabeled event, in the same batch. Under a role condition, only a label every holder of which the condition reaches (else 403 forbidden_by_condition, nothing changed).",
      tags,
      auth: "labels:admin",
      responses: {
        204: { description: "Deleted" },
        403: {
          description:
            "forbidden: the scope is missing; forbidden_by_condition: a member holding it is beyond your role condition",
        },
        404: { description: "No such label" },
      },
    }),
    async (c) => {
      const ws = c.var.caller.workspaceId;
      const slug = c.req.param("slug");
      const db = c.var.db;
      const at = now();
      const within = reachableRows(await reachOf(db, c.var.caller));
      const heldBy = sql`${members.id} in (${await holdersOf(db, ws, slug)})`;
      // Under a condition, every holder must be in reach as the batch finds them: the
      // deletion changes them all. (It may take holders out of reach: it is the label's
      // end, decided with labels:admin over members all in reach.)
      const guard = within
        ? [
            db
              .insert(reachGuard)
              .select(sql`select 1 where exists (select 1 from ${members} where ${heldBy} and not ${within})`),
          ]
        : [];
      const results = await db
        .batch([
          // The delete comes before the event: of two racing deletes, one appends it.
          db.delete(labelsTable).where(and(eq(labelsTable.workspaceId, ws), eq(labelsTable.slug, slug))),
          appendEvent(db, ws, "label.deleted", { slug }, { onlyIfChanged: true }),
          ...guard,
          // One member.unlabeled per holder, seqs consecutive in member order, each with the
          // member as the next statement leaves it: one statement, however many holders.
          // Columns in the table's order: workspace_id, seq, type, at, data.
          db
            .insert(events)
            .select(sql`select ${ws}, (select coalesce(max(${events.seq}), 0) from ${events} where ${events.workspaceId} = ${ws})
                + row_number() over (order by ${members.id}), 'member.unlabeled', ${at},
              json_object('member', json_set(json(${memberJson}), '$.labels', json(${labelsWithout(slug)}),
                '$.updatedAt', ${at}), 'labels', json_array(${slug}))
            from ${members} where ${heldBy} order by ${members.id}`),
          db
            .update(members)
            .set({ labels: labelsWithout(slug), updatedAt: at })
            .where(heldBy),
        ])
        .catch((err: unknown) => {
          throw conditionRefusal(err) ?? err;
        });
      if (results[0].meta.changes === 0) throw notFound("label");
      return c.body(null, 204);
    },
  );
