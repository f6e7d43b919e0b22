import { and, desc, eq, lt, sql } from "drizzle-orm";
import type * as v from "valibot";
import type { Caller } from "../app";
import { appendEvent, now } from "../events/append";
import { invitationJson, parseInvitation } from "../invitations/json";
import { invitations } from "../invitations/table";
import { commitInvitation, planInvitation } from "../invitations/writes";
import { decodeCursor, page } from "../lib/cursor";
import type { Db } from "../lib/db";
import { ApiError, notFound } from "../lib/errors";
import { newId } from "../lib/ids";
import { parsePhoneField } from "../members/rules";
import { type ReachFilter, reachFilter, reachOf } from "../reach/reach";
import { eventData, fromJoinRequest, joinRequestJson, parseJoinRequest } from "./json";
import { prospectInReach } from "./reach";
import type { Approve, ListJoinRequestsQuery, SubmitJoinRequest } from "./schema";
import { joinRequests } from "./table";

type Input = Omit<v.InferOutput<typeof SubmitJoinRequest>, "turnstileToken">;

/**
 * Records a join request, unless one from the same email is pending: that one stays as
 * it is (anyone may submit any email, so a second submission must not rewrite what the
 * first said). The partial unique index (one pending request per email) makes the insert
 * a no-op then, also when two submissions race; its event follows only a row inserted.
 */
export async function submitJoinRequest(db: Db, workspaceId: string, input: Input) {
  const { phone } = parsePhoneField(input.phone);
  const at = now();
  const id = newId("jr");
  await db.batch([
    db
      .insert(joinRequests)
      .values({
        id,
        workspaceId,
        name: input.name,
        email: input.email,
        phone,
        message: input.message ?? null,
        status: "pending",
        createdAt: at,
        updatedAt: at,
      })
      .onConflictDoNothing(),
    appendEvent(db, workspaceId, "join_request.created", eventData, { from: fromJoinRequest(id), onlyIfChanged: true }),
  ]);
}

/** Newest first; `within`: the caller's role condition on each request's prospect (./reach.ts), in the query. */
export async function listJoinRequests(
  db: Db,
  workspaceId: string,
  query: v.InferOutput<typeof ListJoinRequestsQuery>,
  within?: ReachFilter,
) {
  const after = query.cursor ? decodeCursor(query.cursor, 1)[0] : undefined;
  const rows = await db
    .select({ id: joinRequests.id, json: joinRequestJson })
    .from(joinRequests)
    .where(
      and(
        eq(joinRequests.workspaceId, workspaceId),
        query.status ? eq(joinRequests.status, query.status) : undefined,
        after ? lt(joinRequests.id, after) : undefined,
        within && prospectInReach(within),
      ),
    )
    .orderBy(desc(joinRequests.id))
    .limit(query.limit + 1);
  const result = page(rows, query.limit, (row) => [row.id]);
  return { data: result.data.map((row) => parseJoinRequest(row.json)), nextCursor: result.nextCursor };
}

/** The request; 404 as if absent when its prospect is out of the caller's reach (`within`). */
async function loadJoinRequest(db: Db, workspaceId: string, id: string, within?: ReachFilter) {
  const [row] = await db
    .select()
    .from(joinRequests)
    .where(and(eq(joinRequests.workspaceId, workspaceId), eq(joinRequests.id, id), within && prospectInReach(within)));
  if (!row) throw notFound("join request");
  return row;
}

const decided = (status: string) => new ApiError(409, "already_decided", `This join request was already ${status}.`);

/**
 * Approves a pending request and invites its sender with the chosen role, in one
 * batch: the request's guarded UPDATE stamps the invitation's id on it, and every
 * statement of the invitation requires that stamp, so a lost race (a concurrent
 * approve or deny) writes nothing.
 */
export async function approveJoinRequest(db: Db, caller: Caller, id: string, input: v.InferOutput<typeof Approve>) {
  const ws = caller.workspaceId;
  const within = reachFilter(await reachOf(db, caller));
  const request = await loadJoinRequest(db, ws, id, within);
  if (request.status !== "pending") throw decided(request.status);
  const at = now();
  const invitationId = newId("inv");
  const plan = await planInvitation(
    db,
    caller,
    { email: request.email, name: request.name, role: input.role, joinRequestId: id },
    {
      id: invitationId,
      condition: sql`exists (select 1 from ${joinRequests} where ${joinRequests.id} = ${id}
        and ${joinRequests.invitationId} = ${invitationId})`,
    },
  );
  const results = await commitInvitation(
    db,
    ws,
    () =>
      db.batch([
        db
          .update(joinRequests)
          .set({ status: "approved", invitationId, decidedBy: caller.memberId, decidedAt: at, updatedAt: at })
          .where(and(eq(joinRequests.id, id), eq(joinRequests.status, "pending"), within && prospectInReach(within))),
        appendEvent(db, ws, "join_request.approved", eventData, { from: fromJoinRequest(id), onlyIfChanged: true }),
        ...plan.statements,
        db.select({ json: joinRequestJson }).from(joinRequests).where(eq(joinRequests.id, id)),
        db
          .select({ json: invitationJson(at) })
          .from(invitations)
          .where(eq(invitations.id, invitationId)),
      ]),
    plan,
  );
  const [approved] = results;
  const requestRow = (results[results.length - 2] as { json: string }[])[0];
  const invitation = (results[results.length - 1] as { json: string }[])[0];
  if (approved.meta.changes === 0 || !requestRow || !invitation) {
    throw decided((await loadJoinRequest(db, ws, id, within)).status);
  }
  return {
    joinRequest: parseJoinRequest(requestRow.json),
    invitation: parseInvitation(invitation.json),
    delivery: plan.delivery,
  };
}

export async function denyJoinRequest(db: Db, caller: Caller, id: string) {
  const ws = caller.workspaceId;
  const within = reachFilter(await reachOf(db, caller));
  const request = await loadJoinRequest(db, ws, id, within);
  if (request.status !== "pending") throw decided(request.status);
  const at = now();
  const [denied, , after] = await db.batch([
    db
      .update(joinRequests)
      .set({ status: "denied", decidedBy: caller.memberId, decidedAt: at, updatedAt: at })
      .where(and(eq(joinRequests.id, id), eq(joinRequests.status, "pending"), within && prospectInReach(within))),
    appendEvent(db, ws, "join_request.denied", eventData, { from: fromJoinRequest(id), onlyIfChanged: true }),
    db.select({ json: joinRequestJson }).from(joinRequests).where(eq(joinRequests.id, id)),
  ]);
  const row = after[0];
  if (denied.meta.changes === 0 || !row) throw decided((await loadJoinRequest(db, ws, id, within)).status);
  return parseJoinRequest(row.json);
}
