import { and, desc, eq, lt } from "drizzle-orm";
import type * as v from "valibot";
import { now } from "../events/append";
import { decodeCursor, page } from "../lib/cursor";
import type { Db } from "../lib/db";
import { loadMember } from "../members/writes";
import { changeJson, parseChange } from "./json";
import type { ListCredentialChangesQuery } from "./schema";
import { credentialChanges as cc } from "./table";

/** A member's credential changes with old and new values (the audit trail), newest first. */
export async function listCredentialChanges(
  db: Db,
  workspaceId: string,
  memberId: string,
  query: v.InferOutput<typeof ListCredentialChangesQuery>,
) {
  await loadMember(db, workspaceId, memberId);
  const after = query.cursor ? decodeCursor(query.cursor, 1)[0] : undefined;
  const rows = await db
    .select({ id: cc.id, json: changeJson(now()) })
    .from(cc)
    .where(and(eq(cc.workspaceId, workspaceId), eq(cc.memberId, memberId), after ? lt(cc.id, after) : undefined))
    .orderBy(desc(cc.id))
    .limit(query.limit + 1);
  const result = page(rows, query.limit, (row) => [row.id]);
  return { data: result.data.map((row) => parseChange(row.json)), nextCursor: result.nextCursor };
}
