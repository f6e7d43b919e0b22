import { and, eq, sql } from "drizzle-orm";
import { needsMembersAdmin } from "../anonymous/access";
import type { Caller } from "../app";
import type { Db } from "../lib/db";
import { callerCondition } from "../members/rules";
import { members } from "../members/table";
import { reachFilter, reachOf } from "../reach/reach";
import { grants } from "../roles/scopes";

/**
 * Who may follow an import besides its importer: holders of members:admin whose role has
 * no condition, the only ones who reach every member its rows may touch or name
 * (anonymous ones included). Others would learn of rows, values and members beyond their
 * reach. GET /v1/imports/{id}, its errors CSV and the live stream's import.progress
 * (durable-objects/workspace-live.ts) all follow it.
 */
export const followsEveryImport = (holdsMembersAdmin: boolean, condition: string | null | undefined) =>
  holdsMembersAdmin && !condition;

/** Whether the caller may read the import that `importer` started. */
export async function mayFollowImport(db: Db, caller: Caller, importer: string): Promise<boolean> {
  if (caller.memberId === importer) return true;
  return followsEveryImport(grants(caller.scopes, "members:admin"), await callerCondition(db, caller));
}

/** A member id as worker/lib/ids.ts makes them. */
const MEMBER_ID = /\bmem_[0-9A-HJKMNP-TV-Z]{26}\b/g;
const HIDDEN = "outside your reach";

/**
 * The texts (row errors' messages) with every member id the reader does not reach now
 * replaced: one their role's condition excludes, or an anonymous, merged or expired one
 * without members:admin, as REST refuses them. Judged when read, not when the row failed:
 * the importer's reach may shrink later (their condition or labels change, the member
 * moves out of it), and what the importer reaches is not what an admin reads.
 */
export async function hideUnreached(db: Db, reader: Caller, texts: string[]): Promise<string[]> {
  const ids = [...new Set(texts.flatMap((text) => text.match(MEMBER_ID) ?? []))];
  if (ids.length === 0) return texts;
  const reach = await reachOf(db, reader);
  const admin = grants(reader.scopes, "members:admin");
  if (!reach && admin) return texts;
  const found = await db
    .select({ id: members.id, status: members.status })
    .from(members)
    .where(
      and(
        eq(members.workspaceId, reader.workspaceId),
        sql`${members.id} in (select value from json_each(${JSON.stringify(ids)}))`,
        reachFilter(reach)?.(),
      ),
    );
  const reached = new Set(found.filter((m) => admin || !needsMembersAdmin(m.status)).map((m) => m.id));
  return texts.map((text) => text.replace(MEMBER_ID, (id) => (reached.has(id) ? id : HIDDEN)));
}
