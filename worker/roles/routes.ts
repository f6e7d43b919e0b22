import { and, asc, eq, gt, sql } from "drizzle-orm";
import { type Caller, router } from "../app";
import { route } from "../auth/route";
import { enqueueBulk } from "../bulk/queue";
import { CelError, compileOr422, invalidCondition } from "../cel/cel";
import { appendEvent, now } from "../events/append";
import { decodeCursor, page } from "../lib/cursor";
import type { Db } from "../lib/db";
import { ApiError, notFound } from "../lib/errors";
import { ListOf, PageQuery } from "../lib/fields";
import { body, query } from "../lib/validate";
import { callerCondition, conditionRefusal, ROLE_RULE } from "../members/rules";
import { members } from "../members/table";
import { assertCustomerCondition } from "../reach/customers";
import { assertTranslatable } from "../reach/to-sql";
import { continueRetype, firstPass } from "./retype";
import { CreateRole, PatchRole, RoleJson } from "./schema";
import { grants, type MemberType, type Scope } from "./scopes";
import { type RoleRow, roles as rolesTable } from "./table";

const tags = ["Roles"];
const role = { description: "The role", schema: RoleJson };
const toJson = ({ workspaceId: _, retypingSince: __, ...rest }: RoleRow) => rest;
/**
 * What a role edit that changes the type does itself of bringing members' copy of it in
 * step before leaving the rest to the background job: a role of a few thousand members is
 * done when it answers.
 */
const INLINE = { ms: 200, batches: 4 };
const byKey = (ws: string, key: string) => and(eq(rolesTable.workspaceId, ws), eq(rolesTable.key, key));

/** A caller whose role has a condition manages only roles with that condition (worker/members/rules.ts). */
async function assertSameCondition(db: Db, caller: Caller, role: { key: string; condition: string | null }) {
  const refused = conditionRefusal(await callerCondition(db, caller), role);
  if (refused) throw new ApiError(403, "role_exceeds_caller", refused);
}

/** Nobody hands out scopes they do not hold themselves. */
function assertGrantable(caller: Caller, scopes: readonly Scope[]) {
  const missing = scopes.filter((s) => !grants(caller.scopes, s));
  if (missing.length > 0) throw new ApiError(403, "scope_exceeds_caller", `You do not hold ${missing.join(", ")}.`);
}

/**
 * A condition as saved: compiled, type-checked and translatable to a list filter, or 422
 * with its position; for a customer role, also when held with the customer rule.
 */
function checkedCondition(source: string | null | undefined, type: MemberType) {
  if (source === undefined || source === null) return source;
  const compiled = compileOr422(source, "role");
  try {
    assertTranslatable(compiled);
  } catch (err) {
    if (err instanceof CelError) throw invalidCondition(err);
    throw err;
  }
  if (type === "customer") assertCustomerCondition(source);
  return source;
}

async function loadEditableRole(db: Db, ws: string, key: string): Promise<RoleRow> {
  const [row] = await db.select().from(rolesTable).where(byKey(ws, key));
  if (!row) throw notFound("role");
  if (row.builtIn) throw new ApiError(409, "built_in_role", `The built-in role "${key}" cannot be changed.`);
  return row;
}

export const roles = router()
  .get(
    "/",
    route({
      summary: "List roles (by key, in pages)",
      tags,
      auth: "roles:read",
      responses: {
        200: { description: "A page of roles, by key; follow `nextCursor` for the rest", schema: ListOf(RoleJson) },
      },
    }),
    query(PageQuery),
    async (c) => {
      const { limit, cursor } = c.req.valid("query");
      const after = cursor ? decodeCursor(cursor, 1)[0] : undefined;
      const rows = await c.var.db
        .select()
        .from(rolesTable)
        .where(and(eq(rolesTable.workspaceId, c.var.caller.workspaceId), after ? gt(rolesTable.key, after) : undefined))
        .orderBy(asc(rolesTable.key))
        .limit(limit + 1);
      const result = page(rows, limit, (row) => [row.key]);
      return c.json({ data: result.data.map(toJson), nextCursor: result.nextCursor });
    },
  )
  .post(
    "/",
    route({
      summary: "Create a custom role from scopes",
      description: ROLE_RULE,
      tags,
      auth: "roles:admin",
      responses: { 201: role },
    }),
    body(CreateRole),
    async (c) => {
      const input = c.req.valid("json");
      assertGrantable(c.var.caller, input.scopes);
      await assertSameCondition(c.var.db, c.var.caller, { key: input.key, condition: input.condition ?? null });
      const at = now();
      const row: RoleRow = {
        workspaceId: c.var.caller.workspaceId,
        key: input.key,
        name: input.name,
        type: input.type,
        scopes: [...new Set(input.scopes)],
        condition: checkedCondition(input.condition, input.type) ?? null,
        builtIn: false,
        createdAt: at,
        updatedAt: at,
        retypingSince: null,
      };
      const [inserted] = await c.var.db.batch([
        c.var.db.insert(rolesTable).values(row).onConflictDoNothing().returning({ key: rolesTable.key }),
        appendEvent(c.var.db, row.workspaceId, "role.created", { role: toJson(row) }, { onlyIfChanged: true }),
      ]);
      if (inserted.length === 0) throw new ApiError(409, "duplicate", `A role "${input.key}" exists.`);
      return c.json(toJson(row), 201);
    },
  )
  .patch(
    "/:key",
    route({
      summary: "Edit a custom role",
      description: `${ROLE_RULE} A new \`type\` decides what the role's members may do at once; their \`type\` in member JSON and in lists by type follows in bounded batches, within seconds for a large role.`,
      tags,
      auth: "roles:admin",
      responses: { 200: role },
    }),
    body(PatchRole),
    async (c) => {
      const input = c.req.valid("json");
      const ws = c.var.caller.workspaceId;
      const current = await loadEditableRole(c.var.db, ws, c.req.param("key"));
      assertGrantable(c.var.caller, [...current.scopes, ...(input.scopes ?? [])]);
      await assertSameCondition(c.var.db, c.var.caller, current);
      if (input.condition !== undefined) {
        await assertSameCondition(c.var.db, c.var.caller, { key: current.key, condition: input.condition });
      }
      const type = input.type ?? current.type;
      // A role made a customer role keeps its condition: it must hold with the customer rule too.
      const becomesCustomer = type === "customer" && current.type !== "customer";
      checkedCondition(input.condition !== undefined || !becomesCustomer ? input.condition : current.condition, type);
      const db = c.var.db;
      const fromRole = sql`${rolesTable} where ${byKey(ws, current.key)}`;
      const at = now();
      const retyped = input.type !== undefined && input.type !== current.type;
      const [, , [updated]] = await db.batch([
        db
          .update(rolesTable)
          .set({
            name: input.name,
            type: input.type,
            scopes: input.scopes && [...new Set(input.scopes)],
            condition: input.condition,
            updatedAt: at,
            // Members carry their role's type (lists filter by it through an index): a new
            // type reaches them in bounded batches (./retype.ts).
            ...(retyped ? { retypingSince: at } : {}),
          })
          .where(byKey(ws, current.key)),
        appendEvent(
          db,
          ws,
          "role.updated",
          sql`json_object('role', json_object('key', key, 'name', name, 'type', type, 'scopes', json(scopes), 'condition', condition))`,
          { from: fromRole },
        ),
        db.select().from(rolesTable).where(byKey(ws, current.key)),
      ]);
      if (!updated) throw notFound("role");
      if (retyped) {
        const left = await continueRetype(c.env, db, ws, current.key, firstPass(), {
          deadline: Date.now() + INLINE.ms,
          maxBatches: INLINE.batches,
        });
        if (left) await enqueueBulk(c.env, { type: "role.retype", workspaceId: ws, key: current.key, cursor: left });
      }
      return c.json(toJson(updated));
    },
  )
  .delete(
    "/:key",
    route({
      summary: "Delete a custom role no member holds",
      tags,
      auth: "roles:admin",
      responses: { 204: { description: "Deleted" } },
    }),
    async (c) => {
      const ws = c.var.caller.workspaceId;
      const db = c.var.db;
      const current = await loadEditableRole(db, ws, c.req.param("key"));
      const [deleted] = await db.batch([
        db
          .delete(rolesTable)
          .where(
            and(
              byKey(ws, current.key),
              sql`not exists (select 1 from ${members} where ${members.workspaceId} = ${ws} and ${members.role} = ${current.key})`,
            ),
          ),
        appendEvent(db, ws, "role.deleted", { key: current.key }, { onlyIfChanged: true }),
      ]);
      if (deleted.meta.changes === 0) {
        throw new ApiError(409, "role_in_use", "Members hold this role: give them another role first.");
      }
      return c.body(null, 204);
    },
  );
