import { and, desc, eq, gt, isNull, or, sql } from "drizzle-orm";
import * as v from "valibot";
import { type Caller, router } from "../app";
import { route } from "../auth/route";
import { appendEvent, now } from "../events/append";
import type { Db } from "../lib/db";
import { ApiError, notFound } from "../lib/errors";
import { body } from "../lib/validate";
import { memberJson } from "../members/json";
import { assertOutranksMember, outranksMemberSql, RANK_RULE } from "../members/rules";
import { members } from "../members/table";
import { ALL_SCOPES, grants, ScopeSchema } from "../roles/scopes";
import { issueApiKey } from "./issue";
import { ApiKeyJson, CreateApiKey, CreatedApiKey } from "./schema";
import { apiKeys as keysTable } from "./table";

const tags = ["API keys"];

/** SQL on a key row: its member is the caller, or one the caller outranks as the statement finds them. */
const mayActOnKeysOf = (caller: Caller) =>
  or(eq(keysTable.memberId, caller.memberId), outranksMemberSql(caller.scopes, keysTable.memberId));

/** 403 role_exceeds_caller when a live key `id` belongs to another member who outranks the caller. */
async function assertMayActOnKeyOf(db: Db, caller: Caller, ws: string, id: string) {
  const [key] = await db
    .select({ memberId: keysTable.memberId })
    .from(keysTable)
    .where(and(eq(keysTable.workspaceId, ws), eq(keysTable.id, id), isNull(keysTable.revokedAt)));
  if (key && key.memberId !== caller.memberId) await assertOutranksMember(db, caller, key.memberId);
}

export const apiKeys = router()
  .post(
    "/",
    route({
      summary: "Create an API key acting as you (shown once)",
      tags,
      auth: "workspace:admin",
      responses: { 201: { description: "The key, shown this once", schema: CreatedApiKey } },
    }),
    body(CreateApiKey),
    async (c) => {
      const input = c.req.valid("json");
      const caller = c.var.caller;
      const scopes = [...new Set(input.scopes ?? caller.scopes)];
      const missing = scopes.filter((s) => !grants(caller.scopes, s));
      if (missing.length > 0) {
        throw new ApiError(403, "scope_exceeds_caller", `You do not hold ${missing.join(", ")}.`);
      }
      const issued = await issueApiKey(c.var.db, {
        workspaceId: caller.workspaceId,
        memberId: caller.memberId,
        name: input.name,
        scopes,
        expiresInDays: input.expiresInDays,
      });
      await c.var.db.batch(issued.statements);
      return c.json({ ...issued.json, key: issued.key }, 201);
    },
  )
  .get(
    "/scopes",
    route({
      summary: "The scopes a new key of yours may take: those your role grants",
      description:
        "A key acts as its creator and never holds more than their role: these are the scopes POST /v1/api-keys accepts from the caller (admin implies write implies read).",
      tags,
      auth: "workspace:admin",
      responses: {
        200: {
          description: "Every scope the caller's role grants, each level spelled out",
          schema: v.object({ scopes: v.array(ScopeSchema) }),
        },
      },
    }),
    // Every scope the caller's grant, spelled out (members:admin brings members:write and
    // members:read): a key may take a lower level than its creator holds.
    (c) => c.json({ scopes: ALL_SCOPES.filter((s) => grants(c.var.caller.scopes, s)) }),
  )
  .get(
    "/",
    route({
      summary: "List the workspace's live API keys",
      description:
        "The caller's own keys, and those of members whose role grants nothing the caller lacks: the keys of members who outrank the caller are left out.",
      tags,
      auth: "workspace:admin",
      responses: {
        200: { description: "Keys, without their secret", schema: v.object({ data: v.array(ApiKeyJson) }) },
      },
    }),
    async (c) => {
      const caller = c.var.caller;
      const data = await c.var.db
        .select({
          id: keysTable.id,
          name: keysTable.name,
          memberId: keysTable.memberId,
          scopes: keysTable.scopes,
          expiresAt: keysTable.expiresAt,
          createdAt: keysTable.createdAt,
        })
        .from(keysTable)
        .where(
          and(
            eq(keysTable.workspaceId, caller.workspaceId),
            isNull(keysTable.revokedAt),
            gt(keysTable.expiresAt, now()),
            mayActOnKeysOf(caller),
          ),
        )
        .orderBy(desc(keysTable.id))
        .limit(1000);
      return c.json({ data });
    },
  )
  .delete(
    "/:id",
    route({
      summary: "Revoke an API key",
      description: `Your own keys, or another member's. ${RANK_RULE}`,
      tags,
      auth: "workspace:admin",
      responses: {
        204: { description: "Revoked" },
        403: { description: "The key's member outranks the caller (role_exceeds_caller)" },
        404: { description: "No such live key" },
      },
    }),
    async (c) => {
      const caller = c.var.caller;
      const ws = caller.workspaceId;
      const id = c.req.param("id");
      const live = and(eq(keysTable.workspaceId, ws), eq(keysTable.id, id), isNull(keysTable.revokedAt));
      const rankOfOwner = () => assertMayActOnKeyOf(c.var.db, caller, ws, id);
      await rankOfOwner();
      const [revoked] = await c.var.db.batch([
        c.var.db
          .update(keysTable)
          .set({ revokedAt: now() })
          // The rank judged again on the key's member as the batch finds them.
          .where(and(live, mayActOnKeysOf(caller))),
        // With its member as committed, as api_key.created: the live stream judges by it whom a
        // role condition lets see the event (an id alone could not be judged).
        appendEvent(c.var.db, ws, "api_key.revoked", sql`json_object('id', ${id}, 'member', json(${memberJson}))`, {
          from: sql`${members} where ${members.id} = (select ${keysTable.memberId} from ${keysTable}
            where ${keysTable.workspaceId} = ${ws} and ${keysTable.id} = ${id})`,
          onlyIfChanged: true,
        }),
      ]);
      if (revoked.meta.changes === 0) {
        // Promoted above the caller meanwhile, or the key is gone.
        await rankOfOwner();
        throw notFound("API key");
      }
      return c.body(null, 204);
    },
  );
