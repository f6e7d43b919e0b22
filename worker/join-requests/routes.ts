import { eq } from "drizzle-orm";
import { router } from "../app";
import { route } from "../auth/route";
import { deliverInvitation } from "../invitations/deliver";
import { limitBody } from "../lib/body-limit";
import { sessionBookmark } from "../lib/d1-sessions";
import { ApiError } from "../lib/errors";
import { clientIp, FLOOD, limit, limitPerIp } from "../lib/rate-limit";
import { body, optionalBody, query } from "../lib/validate";
import { poke } from "../live/poke";
import { workspaces } from "../platform/table";
import { conditionResponses, hiddenResponse, reachFilter, reachOf } from "../reach/reach";
import { grants } from "../roles/scopes";
import { publicOrigin } from "../sessions/cookie";
import { useShard } from "../shards/context";
import { shardOfSlug } from "../shards/directory";
import {
  Approve,
  Approved,
  JoinRequestJson,
  JoinRequestPage,
  JoinRequestReceived,
  ListJoinRequestsQuery,
  SubmitJoinRequest,
} from "./schema";
import { verifyTurnstile } from "./turnstile";
import { approveJoinRequest, denyJoinRequest, listJoinRequests, submitJoinRequest } from "./writes";

const tags = ["Join requests"];

const RECEIVED = {
  status: "received",
  message: "Thanks! The workspace's admins will review your request.",
} as const;
export const MAX_BODY = 16 * 1024;

/** `/public/{slug}/join-requests`: the form on a workspace's public page. */
export const publicJoinRequests = router()
  .use("*", limitBody(MAX_BODY))
  .post(
    "/:slug/join-requests",
    route({
      summary: "Ask to join a workspace (same answer whether or not the email is known)",
      description:
        "While a request from the email is pending, another submission changes nothing (its name, phone and " +
        "message are not taken) and gets the same 202. An unknown workspace and one that takes no join requests " +
        "get the same 404.",
      tags,
      auth: "public",
      responses: {
        202: { description: "Received", schema: JoinRequestReceived },
        404: { description: "No such workspace, or it takes no join requests" },
        429: { description: "Too many requests" },
      },
    }),
    body(SubmitJoinRequest),
    async (c) => {
      // Before the lookup: probing slugs counts against the client too.
      await limitPerIp(c, "join");
      const found = await shardOfSlug(c.env, c.req.param("slug"));
      if (found) useShard(c, found.shard);
      const [workspace] = found
        ? await c.var.db
            .select({ id: workspaces.id, allowJoinRequests: workspaces.allowJoinRequests })
            .from(workspaces)
            .where(eq(workspaces.id, found.workspaceId))
        : [];
      // One answer for an unknown workspace and a closed one: the page must not tell which slugs exist.
      if (!workspace?.allowJoinRequests) {
        throw new ApiError(404, "not_found", "This workspace does not take join requests.");
      }
      await limit(c.env.RATE_LIMIT_PER_WORKSPACE, `join:${workspace.id}`, FLOOD.perWorkspace);
      const { turnstileToken, ...input } = c.req.valid("json");
      const secret = (c.env as Env & { TURNSTILE_SECRET?: string }).TURNSTILE_SECRET;
      if (secret) await verifyTurnstile(secret, turnstileToken, clientIp(c));
      await submitJoinRequest(c.var.db, workspace.id, input);
      c.executionCtx.waitUntil(poke(c.env, workspace.id, sessionBookmark(c)));
      return c.json(RECEIVED, 202);
    },
  );

/** `/v1/join-requests`: the admins' review list. */
export const joinRequests = router()
  .get(
    "/",
    route({
      summary: "List join requests, newest first",
      tags,
      auth: "join_requests:read",
      responses: { 200: { description: "A page of join requests", schema: JoinRequestPage } },
    }),
    query(ListJoinRequestsQuery),
    async (c) => {
      const within = reachFilter(await reachOf(c.var.db, c.var.caller));
      return c.json(await listJoinRequests(c.var.db, c.var.caller.workspaceId, c.req.valid("query"), within));
    },
  )
  .post(
    "/:id/approve",
    route({
      summary: "Approve: invites the requester with the chosen role (default user)",
      tags,
      auth: "join_requests:write",
      body: Approve,
      bodyOptional: true,
      responses: {
        200: { description: "The approved request and the invitation sent", schema: Approved },
        ...conditionResponses,
      },
    }),
    async (c) => {
      if (!grants(c.var.caller.scopes, "invitations:write")) {
        throw new ApiError(403, "forbidden", "Approving sends an invitation: this needs the invitations:write scope.");
      }
      // The body is optional: a bare POST approves with the default role.
      const input = await optionalBody(c, Approve);
      const approved = await approveJoinRequest(c.var.db, c.var.caller, c.req.param("id"), input);
      await deliverInvitation(c.env, c.var.db, publicOrigin(c), approved.delivery);
      return c.json({ joinRequest: approved.joinRequest, invitation: approved.invitation });
    },
  )
  .post(
    "/:id/deny",
    route({
      summary: "Deny a join request",
      tags,
      auth: "join_requests:write",
      responses: { 200: { description: "The denied request", schema: JoinRequestJson }, ...hiddenResponse },
    }),
    async (c) => c.json(await denyJoinRequest(c.var.db, c.var.caller, c.req.param("id"))),
  );
