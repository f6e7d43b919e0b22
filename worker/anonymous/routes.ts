import type { Context } from "hono";
import { router } from "../app";
import { route } from "../auth/route";
import { noteBookmark } from "../lib/d1-sessions";
import { ApiError, notFound } from "../lib/errors";
import { body, query } from "../lib/validate";
import { MemberJson } from "../members/schema";
import { assertMemberInReach, conditionResponses, reachData, reachOf } from "../reach/reach";
import { anonymousResponse, requireAnonymousAccess } from "./access";
import { expireMember } from "./expire";
import { ResolutionJson } from "./json";
import { getResolution, listMessages, memberStatus } from "./reads";
import type { ResolutionResult } from "./resolve";
import { previewMerge } from "./resolve";
import { MergePreview, MessagePage, MessagesQuery, PreviewQuery, ResolveBody, Resolved, Restored } from "./schema";

const tags = ["Anonymous members"];

/** The object's answer as the route's, or its refusal; a merge or undo made there is read by the caller's next request (`noteBookmark`). */
function unwrap(c: Context, result: ResolutionResult & { bookmark?: string }) {
  if (!result.ok) throw ApiError.of(result.code, result.message);
  noteBookmark(c, result.bookmark);
  return result;
}

/** Mounted under /v1/members beside the members router: history, resolve, undo, expire. */
export const anonymousMembers = router()
  .get(
    "/:id/messages",
    route({
      targetMember: "id",
      summary: "The member's conversation history (SMS and calls), oldest first",
      tags,
      auth: "members:read",
      responses: { 200: { description: "A page of messages", schema: MessagePage }, ...anonymousResponse },
    }),
    query(MessagesQuery),
    async (c) => {
      const id = c.req.param("id");
      requireAnonymousAccess(c.var.caller, await memberStatus(c.var.db, c.var.caller.workspaceId, id));
      return c.json(await listMessages(c.var.db, id, c.req.valid("query")));
    },
  )
  .get(
    "/:id/resolution",
    route({
      targetMember: "id",
      summary: "The anonymous member's resolution record (pending, resolved or expired; who and when)",
      tags,
      auth: "members:admin",
      responses: { 200: { description: "The resolution record", schema: ResolutionJson } },
    }),
    async (c) => c.json(await getResolution(c.var.db, c.var.caller.workspaceId, c.req.param("id"))),
  )
  .get(
    "/:id/resolve-preview",
    route({
      targetMember: "id",
      summary: "What resolving into targetId would move (same 404/409 as resolving)",
      tags,
      auth: "members:admin",
      responses: { 200: { description: "The merge preview", schema: MergePreview } },
    }),
    query(PreviewQuery),
    async (c) => {
      // The target is a member the caller acts on too: one their condition excludes is absent.
      await assertMemberInReach(c.var.db, c.var.caller, c.req.valid("query").targetId);
      const result = await previewMerge(
        c.var.db,
        c.var.caller.workspaceId,
        c.req.param("id"),
        c.req.valid("query").targetId,
      );
      if (!result.ok) throw ApiError.of(result.code, result.message);
      return c.json(result.preview);
    },
  )
  .post(
    "/:id/resolve",
    route({
      targetMember: "id",
      summary: "Resolve an anonymous member into a real one: its whole history moves, atomically",
      tags,
      auth: "members:admin",
      description:
        "Under a role condition, both members are judged inside the merge's batch: one the condition does not reach answers 404, and a merge that would leave the source out of reach 403.",
      responses: { 200: { description: "The target member", schema: Resolved }, ...conditionResponses },
    }),
    body(ResolveBody),
    async (c) => {
      const caller = c.var.caller;
      // The target is a member the caller acts on too: one their condition excludes is absent
      // (checked again inside the merge's batch, against a concurrent change).
      await assertMemberInReach(c.var.db, caller, c.req.valid("json").targetId);
      const result = unwrap(
        c,
        await c.env.WORKSPACE.getByName(caller.workspaceId).resolveAnonymous({
          kind: "merge",
          workspaceId: caller.workspaceId,
          sourceId: c.req.param("id"),
          targetId: c.req.valid("json").targetId,
          actorId: caller.memberId,
          actor: caller.actor,
          reach: reachData(await reachOf(c.var.db, caller)),
        }),
      );
      return c.json({ member: result.member, moved: result.moved });
    },
  )
  .post(
    "/:id/resolve/undo",
    route({
      targetMember: "id",
      summary: "Undo a resolve: the anonymous member comes back with exactly the messages it had",
      tags,
      auth: "members:admin",
      description:
        "Under a role condition, both members (the source and the one it was resolved into) are judged inside the undo's batch: one the condition does not reach answers 404, and an undo that would leave the restored member out of reach 403.",
      responses: { 200: { description: "The restored anonymous member", schema: Restored }, ...conditionResponses },
    }),
    async (c) => {
      const caller = c.var.caller;
      const result = unwrap(
        c,
        await c.env.WORKSPACE.getByName(caller.workspaceId).resolveAnonymous({
          kind: "undo",
          workspaceId: caller.workspaceId,
          sourceId: c.req.param("id"),
          actorId: caller.memberId,
          actor: caller.actor,
          reach: reachData(await reachOf(c.var.db, caller)),
        }),
      );
      return c.json({ member: result.member, restored: result.moved });
    },
  )
  .post(
    "/:id/expire",
    route({
      targetMember: "id",
      summary: "Expire an anonymous member: archived without merging",
      tags,
      auth: "members:admin",
      responses: { 200: { description: "The expired member", schema: MemberJson } },
    }),
    async (c) => {
      const caller = c.var.caller;
      const result = await expireMember(c.var.db, caller.workspaceId, c.req.param("id"), caller.memberId);
      if (!result?.member) throw notFound("member");
      if (!result.changed) {
        throw new ApiError(
          409,
          "not_anonymous",
          `Only anonymous members can expire; this one is ${result.member.status}.`,
        );
      }
      return c.json(result.member);
    },
  );
