import { and, asc, count, eq, gt, inArray, isNotNull, isNull, or, type SQL, sql } from "drizzle-orm";
import { router } from "../app";
import { route } from "../auth/route";
import { enqueueBulk } from "../bulk/queue";
import { appendEvent, now } from "../events/append";
import { decodeCursor, page } from "../lib/cursor";
import type { Db } from "../lib/db";
import { ApiError, invalidField, notFound } from "../lib/errors";
import { ListOf, PageQuery } from "../lib/fields";
import { isUniqueViolation } from "../lib/sqlite-errors";
import { body, query } from "../lib/validate";
import { labelIndex } from "../members/holders";
import { members } from "../members/table";
import { conditionRefusal, forbiddenByCondition, reachableRows, reachOf } from "../reach/reach";
import { beginDeletion, continueDeletion, countHolders, judgeHolders, logHead } from "./deletion";
import { DEFAULT_COLOR, slugify } from "./ensure";
import { LABEL_DELETING } from "./guard";
import { CreateLabel, LabelDeletion, LabelJson, LabelListed, PatchLabel } from "./schema";
import { labels as labelsTable } from "./table";

const tags = ["Labels"];
const label = { description: "The label", schema: LabelJson };
const toJson = ({ workspaceId: _, deletingSince: __, ...rest }: typeof labelsTable.$inferSelect) => rest;
/**
 * What DELETE /v1/labels/{slug} unlabels itself before leaving the rest to the background
 * job: a label held by a few hundred members is gone when it answers (204).
 */
const INLINE = { ms: 200, batches: 4 };

/**
 * How many members hold each of a page's labels: one grouped read of the members-by-label
 * index for the page's slugs (at most `limit` of them). It reads one index row per holder,
 * so a page costs as many rows as its labels have holders. Under a role condition only the
 * holders the caller reaches count (one member row read a holder too): a count of all would
 * tell a customer how many other customers hold a label.
 */
async function holdersOfPage(db: Db, ws: string, slugs: string[], within: SQL | undefined) {
  if (slugs.length === 0) return new Map<string, number>();
  const t = await labelIndex(db);
  const counted = db.select({ label: t.label, n: count() }).from(t);
  const rows = await (within
    ? counted.innerJoin(members, and(eq(members.workspaceId, t.workspaceId), eq(members.id, t.memberId)))
    : counted
  )
    .where(and(eq(t.workspaceId, ws), inArray(t.label, slugs), within))
    .groupBy(t.label);
  return new Map(rows.map((row) => [row.label, row.n]));
}

/** Why a label's slug or name is not free (`taken`): another label has it, or one being deleted still does. */
async function conflict(db: Db, ws: string, taken: SQL | undefined) {
  const [deleting] = await db
    .select({ slug: labelsTable.slug })
    .from(labelsTable)
    .where(and(eq(labelsTable.workspaceId, ws), taken, isNotNull(labelsTable.deletingSince)));
  if (deleting) return new ApiError(409, "label_deleting", LABEL_DELETING);
  return new ApiError(409, "duplicate", "A label with this name or slug exists.");
}

export const labels = router()
  .get(
    "/",
    route({
      summary: "List labels (by name, in pages)",
      description:
        "Each label with `holders`: how many members (of any status) hold it, counted for the page's labels when the page is read; under a role condition, only the members the condition reaches.",
      tags,
      auth: "labels:read",
      responses: {
        200: {
          description: "A page of labels, by name; follow `nextCursor` for the rest",
          schema: ListOf(LabelListed),
        },
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
          and(
            eq(labelsTable.workspaceId, c.var.caller.workspaceId),
            // A label being deleted is gone already.
            isNull(labelsTable.deletingSince),
            after ? gt(labelsTable.name, after) : undefined,
          ),
        )
        .orderBy(asc(labelsTable.name))
        .limit(limit + 1);
      const result = page(rows, limit, (row) => [row.name]);
      const ws = c.var.caller.workspaceId;
      const within = reachableRows(await reachOf(c.var.db, c.var.caller));
      const slugs = result.data.map((row) => row.slug);
      const holders = await holdersOfPage(c.var.db, ws, slugs, within);
      const data = result.data.map((row) => ({ ...toJson(row), holders: holders.get(row.slug) ?? 0 }));
      return c.json({ data, nextCursor: result.nextCursor });
    },
  )
  .post(
    "/",
    route({
      summary: "Create a label",
      tags,
      auth: "labels:write",
      responses: {
        201: label,
        409: {
          description:
            "duplicate: a label has this slug or name; label_deleting: that label is being deleted (create it again once its deletion has finished)",
        },
      },
    }),
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
        deletingSince: null,
      };
      const [inserted] = await c.var.db.batch([
        c.var.db.insert(labelsTable).values(row).onConflictDoNothing().returning({ slug: labelsTable.slug }),
        appendEvent(c.var.db, ws, "label.created", { label: toJson(row) }, { onlyIfChanged: true }),
      ]);
      if (inserted.length === 0) {
        throw await conflict(c.var.db, ws, or(eq(labelsTable.slug, slug), eq(labelsTable.name, input.name)));
      }
      return c.json(toJson(row), 201);
    },
  )
  .patch(
    "/:slug",
    route({
      summary: "Edit a label's name, color or description",
      description:
        "The slug stays, so members, conditions and actions naming the label are unchanged. Fields left out keep their value; `description: null` clears it. A change appends label.updated (on the live stream to `labels:read`); an edit that changes nothing appends nothing.",
      tags,
      auth: "labels:write",
      responses: {
        200: label,
        404: { description: "No such label in this workspace (or its deletion has begun)" },
        409: {
          description:
            "duplicate: another label has this name; label_deleting: the label with this name is being deleted",
        },
      },
    }),
    body(PatchLabel),
    async (c) => {
      const input = c.req.valid("json");
      const ws = c.var.caller.workspaceId;
      const db = c.var.db;
      const live = and(
        eq(labelsTable.workspaceId, ws),
        eq(labelsTable.slug, c.req.param("slug")),
        isNull(labelsTable.deletingSince),
      );
      const changes = Object.entries(input).filter(([, value]) => value !== undefined);
      const read = db.select().from(labelsTable).where(live);
      if (changes.length === 0) {
        const [current] = await read;
        if (!current) throw notFound("label");
        return c.json(toJson(current));
      }
      const [, , [updated]] = await db
        .batch([
          db
            .update(labelsTable)
            .set(input)
            // Only a real change writes, so an edit that changes nothing appends no event.
            .where(
              and(
                live,
                or(
                  ...changes.map(([field, value]) => sql`${labelsTable[field as keyof typeof input]} is not ${value}`),
                ),
              ),
            ),
          appendEvent(
            db,
            ws,
            "label.updated",
            sql`json_object('label', json_object('slug', slug, 'name', name, 'color', color, 'description', description, 'createdAt', created_at))`,
            { from: sql`${labelsTable} where ${live}`, onlyIfChanged: true },
          ),
          read,
        ])
        .catch(async (err: unknown) => {
          if (!isUniqueViolation(err, "labels", "name")) throw err;
          throw await conflict(db, ws, eq(labelsTable.name, input.name ?? ""));
        });
      if (!updated) throw notFound("label");
      return c.json(toJson(updated));
    },
  )
  .delete(
    "/:slug",
    route({
      summary: "Delete a label and remove it from every member",
      description: `The label leaves GET /v1/labels at once, with label.deleted; then every member who held it loses it, with one member.unlabeled each, in batches of bounded work. 204 when that finished within the request; else 202 with the holders left, which a background job unlabels within seconds (label.deleted and each member.unlabeled go out on the live stream as they commit). Until the deletion finishes, a write naming the label answers 409 label_deleting (an import row naming it fails), and another DELETE 404. Under a role condition, only a label every holder of which the condition reaches when the deletion begins (else 403 forbidden_by_condition, nothing changed).`,
      tags,
      auth: "labels:admin",
      responses: {
        202: { description: "Deleted; its holders are being unlabeled", schema: LabelDeletion },
        204: { description: "Deleted, and taken from every holder" },
        403: {
          description:
            "forbidden: the scope is missing; forbidden_by_condition: a member holding it is beyond your role condition",
        },
        404: { description: "No such label (or its deletion has already begun)" },
      },
    }),
    async (c) => {
      const ws = c.var.caller.workspaceId;
      const slug = c.req.param("slug");
      const db = c.var.db;
      const reach = await reachOf(db, c.var.caller);
      const within = reachableRows(reach);
      // Under a condition, every holder must be in reach when the deletion begins: it
      // changes them all. (It may take holders out of reach: it is the label's end,
      // decided with labels:admin over members all in reach.)
      const head = within ? await logHead(db, ws) : 0;
      if (within && !(await judgeHolders(db, ws, slug, reach))) throw forbiddenByCondition();
      const begun = await beginDeletion(db, ws, slug, now(), within && { within, head }).catch((err: unknown) => {
        throw conditionRefusal(err) ?? err;
      });
      if (!begun) throw notFound("label");
      const finished = await continueDeletion(c.env, db, ws, slug, {
        deadline: Date.now() + INLINE.ms,
        maxBatches: INLINE.batches,
      });
      if (finished) return c.body(null, 204);
      await enqueueBulk(c.env, { type: "label.deletion", workspaceId: ws, slug });
      const holders = await countHolders(db, ws, slug);
      return c.json({ slug, status: "deleting" as const, holders }, 202);
    },
  );
