import { and, asc, eq, gt } from "drizzle-orm";
import type * as v from "valibot";
import { decodeCursor, page } from "../lib/cursor";
import type { Db } from "../lib/db";
import { notFound } from "../lib/errors";
import { members } from "../members/table";
import { type Message, messageJson } from "./json";
import type { MessagesQuery } from "./schema";
import { anonymousResolutions, messages } from "./table";

export async function memberStatus(db: Db, workspaceId: string, id: string) {
  const [row] = await db
    .select({ status: members.status })
    .from(members)
    .where(and(eq(members.workspaceId, workspaceId), eq(members.id, id)));
  if (!row) throw notFound("member");
  return row.status;
}

/** The member's conversation history, oldest first (ids are time-ordered), in keyset pages. */
export async function listMessages(db: Db, memberId: string, query: v.InferOutput<typeof MessagesQuery>) {
  const after = query.cursor ? decodeCursor(query.cursor, 1)[0] : undefined;
  const rows = await db
    .select({ id: messages.id, json: messageJson })
    .from(messages)
    .where(and(eq(messages.memberId, memberId), after ? gt(messages.id, after) : undefined))
    .orderBy(asc(messages.id))
    .limit(query.limit + 1);
  const result = page(rows, query.limit, (row) => [row.id]);
  return { data: result.data.map((row) => JSON.parse(row.json) as Message), nextCursor: result.nextCursor };
}

export async function getResolution(db: Db, workspaceId: string, memberId: string) {
  const [row] = await db
    .select()
    .from(anonymousResolutions)
    .where(and(eq(anonymousResolutions.workspaceId, workspaceId), eq(anonymousResolutions.memberId, memberId)));
  if (!row) throw notFound("resolution record");
  const { workspaceId: _, mergeId: __, ...json } = row;
  return json;
}
