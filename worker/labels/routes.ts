import { and, asc, eq, sql } from "drizzle-orm";
import * as v from "valibot";
import { appendEvent, now } from "../events/append";
import { router } from "../lib/app";
import { ApiError, notFound } from "../lib/errors";
import { route } from "../lib/route";
import { body } from "../lib/validate";
import { memberLabels, members } from "../members/table";
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
      summary: "List labels",
      tags,
      auth: "labels:read",
      responses: { 200: { description: "Every label", schema: v.object({ data: v.array(LabelJson) }) } },
    }),
    async (c) => {
      const rows = await c.var.db
        .select()
        .from(labelsTable)
        .where(eq(labelsTable.workspaceId, c.var.caller.workspaceId))
        .orderBy(asc(labelsTable.name));
      return c.json({ data: rows.map(toJson) });
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
        throw new ApiError(422, "validation_failed", "The request has invalid fields.", {
          issues: [{ path: "slug", message: "Give a slug: the name has no letters or digits to make one from." }],
        });
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
      tags,
      auth: "labels:admin",
      responses: { 204: { description: "Deleted" } },
    }),
    async (c) => {
      const ws = c.var.caller.workspaceId;
      const slug = c.req.param("slug");
      const db = c.var.db;
      // The delete comes first and guards the event: of two racing deletes, one appends it.
      const [deleted] = await db.batch([
        db.delete(labelsTable).where(and(eq(labelsTable.workspaceId, ws), eq(labelsTable.slug, slug))),
        appendEvent(db, ws, "label.deleted", { slug }, { onlyIfChanged: true }),
        db
          .update(members)
          .set({
            labels: sql`(select json_group_array(value) from json_each(${members.labels}) where value != ${slug})`,
            updatedAt: now(),
          })
          .where(
            sql`${members.id} in (select ${memberLabels.memberId} from ${memberLabels}
              where ${memberLabels.workspaceId} = ${ws} and ${memberLabels.label} = ${slug})`,
          ),
      ]);
      if (deleted.meta.changes === 0) throw notFound("label");
      return c.body(null, 204);
    },
  );
