import { router } from "../app";
import { route } from "../auth/route";
import { limitClientAndTarget } from "../lib/rate-limit";
import { body, query } from "../lib/validate";
import { RANK_RULE } from "../members/rules";
import { conditionResponses, hiddenResponse, reachFilter, reachOf } from "../reach/reach";
import { publicOrigin, refuseForeignOrigin, setSessionCookie } from "../sessions/cookie";
import { TokenBody } from "../sessions/schema";
import { TOKEN_FLOOD } from "../sessions/tokens";
import { deliverInvitation } from "./deliver";
import { getInvitation, listInvitations } from "./reads";
import { Accepted, CreateInvitation, InvitationJson, InvitationPage, ListInvitationsQuery } from "./schema";
import { acceptInvitation, createInvitation, resendInvitation, revokeInvitation } from "./writes";

const tags = ["Invitations"];
const invitation = { description: "The invitation", schema: InvitationJson };
const outranked = { description: "The invitee's role holds a scope the caller lacks (role_exceeds_caller)" };

export const invitations = router()
  .post(
    "/",
    route({
      summary: "Invite someone by email (or by phone: the link goes by SMS); expires in 7 days",
      tags,
      auth: "invitations:write",
      description: `Re-inviting an archived member brings them back: ${RANK_RULE}`,
      responses: {
        201: invitation,
        403: {
          description:
            "The role, or the archived member's role, holds a scope the caller lacks (role_exceeds_caller), or the invitee would be out of the caller's role condition (forbidden_by_condition)",
        },
        409: {
          description:
            "Already a member (already_member), invited (already_invited), the email and phone belong to two members (duplicate), or the phone belongs to an archived or invited member whose email is not the one given, where the link would go (identifier_conflict)",
        },
      },
    }),
    body(CreateInvitation),
    async (c) => {
      const created = await createInvitation(c.var.db, c.var.caller, c.req.valid("json"));
      await deliverInvitation(c.env, c.var.db, publicOrigin(c), created.delivery);
      return c.json(created.invitation, 201);
    },
  )
  .get(
    "/",
    route({
      summary: "List invitations, newest first",
      tags,
      auth: "invitations:read",
      responses: { 200: { description: "A page of invitations", schema: InvitationPage } },
    }),
    query(ListInvitationsQuery),
    async (c) => {
      const within = reachFilter(await reachOf(c.var.db, c.var.caller));
      return c.json(await listInvitations(c.var.db, c.var.caller.workspaceId, c.req.valid("query"), within));
    },
  )
  .post(
    "/accept",
    route({
      summary: "Accept an invitation by its link's token: activates the member and signs them in",
      tags,
      auth: "public",
      signsIn: true,
      responses: {
        200: { description: "The member, now active; the session cookie is set", schema: Accepted },
        409: { description: "The invitation was used, revoked, or a newer link replaced this one" },
        410: { description: "The invitation expired" },
        429: TOKEN_FLOOD,
      },
    }),
    body(TokenBody),
    async (c) => {
      // A foreign page must not sign a visitor in (login CSRF); non-browsers send no Origin.
      refuseForeignOrigin(c);
      const { token } = c.req.valid("json");
      await limitClientAndTarget(c, "accept", token);
      const accepted = await acceptInvitation(c, token);
      setSessionCookie(c, accepted.sessionToken);
      c.set("changedWorkspace", accepted.workspaceId);
      return c.json({ member: accepted.member });
    },
  )
  .get(
    "/:id",
    route({
      summary: "Get an invitation",
      tags,
      auth: "invitations:read",
      responses: { 200: invitation, ...hiddenResponse },
    }),
    async (c) => {
      const within = reachFilter(await reachOf(c.var.db, c.var.caller));
      return c.json(await getInvitation(c.var.db, c.var.caller.workspaceId, c.req.param("id"), within));
    },
  )
  .post(
    "/:id/resend",
    route({
      summary: "Resend: a new link and a new 7 days, to the invitee's address as it is now; the old link stops working",
      description: RANK_RULE,
      tags,
      auth: "invitations:write",
      responses: { 200: invitation, 403: outranked, ...hiddenResponse },
    }),
    async (c) => {
      const resent = await resendInvitation(c.var.db, c.var.caller, c.req.param("id"));
      await deliverInvitation(c.env, c.var.db, publicOrigin(c), resent.delivery);
      return c.json(resent.invitation);
    },
  )
  .post(
    "/:id/revoke",
    route({
      summary: "Revoke a pending invitation (the invitee is archived)",
      description: RANK_RULE,
      tags,
      auth: "invitations:write",
      responses: {
        200: invitation,
        ...conditionResponses,
        403: { description: `${outranked.description}, or ${conditionResponses[403].description}` },
      },
    }),
    async (c) => c.json(await revokeInvitation(c.var.db, c.var.caller, c.req.param("id"))),
  );
