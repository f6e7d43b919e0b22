import { and, desc, eq, gt, lt, lte, type SQL } from "drizzle-orm";
import type * as v from "valibot";
import { now } from "../events/append";
import { decodeCursor, page } from "../lib/cursor";
import type { Db } from "../lib/db";
import { notFound } from "../lib/errors";
import { members } from "../members/table";
import type { ReachFilter } from "../reach/reach";
import { invitationJson, parseInvitation } from "./json";
import type { ListInvitationsQuery } from "./schema";
import { invitations } from "./table";

/** Stored status and expiry conditions for each status the API shows. */
function statusFilter(status: v.InferOutput<typeof ListInvitationsQuery>["status"], at: string): SQL | undefined {
  switch (status) {
    case undefined:
      return undefined;
    case "pending":
      return and(eq(invitations.status, "pending"), gt(invitations.expiresAt, at));
    case "expired":
      return and(eq(invitations.status, "pending"), lte(invitations.expiresAt, at));
    default:
      return eq(invitations.status, status);
  }
}

/**
 * Newest first, in keyset pages over the (workspace, status, id) index. `within`: the
 * caller's role condition on the invitee (worker/reach), in the query, so pages stay full.
 */
export async function listInvitations(
  db: Db,
  workspaceId: string,
  query: v.InferOutput<typeof ListInvitationsQuery>,
  within?: ReachFilter,
) {
  const at = now();
  const after = query.cursor ? decodeCursor(query.cursor, 1)[0] : undefined;
  const rows = await db
    .select({ id: invitations.id, json: invitationJson(at) })
    .from(invitations)
    .innerJoin(members, eq(members.id, invitations.memberId))
    .where(
      and(
        eq(invitations.workspaceId, workspaceId),
        statusFilter(query.status, at),
        query.memberId === undefined ? undefined : eq(invitations.memberId, query.memberId),
        after ? lt(invitations.id, after) : undefined,
        within?.(),
      ),
    )
    .orderBy(desc(invitations.id))
    .limit(query.limit + 1);
  const result = page(rows, query.limit, (row) => [row.id]);
  return { data: result.data.map((row) => parseInvitation(row.json)), nextCursor: result.nextCursor };
}

export async function getInvitation(db: Db, workspaceId: string, id: string, within?: ReachFilter) {
  const [row] = await db
    .select({ json: invitationJson(now()) })
    .from(invitations)
    .innerJoin(members, eq(members.id, invitations.memberId))
    .where(and(eq(invitations.workspaceId, workspaceId), eq(invitations.id, id), within?.()));
  if (!row) throw notFound("invitation");
  return parseInvitation(row.json);
}
