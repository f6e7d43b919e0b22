import { router } from "../lib/app";
import { limitPerIp } from "../lib/rate-limit";
import { route } from "../lib/route";
import { body } from "../lib/validate";
import { send } from "../outbox/send";
import {
  clearSessionCookie,
  publicOrigin,
  readSessionCookie,
  refuseForeignOrigin,
  requireSameOrigin,
  setSessionCookie,
} from "./cookie";
import { Login, LoginAccepted, SignedIn, TokenBody } from "./schema";
import { endSession, issueSignInLink, SIGN_IN_LINK_MINUTES, verifySignInLink } from "./sign-in";

const tags = ["Sign-in"];
const LOGIN_ANSWER = {
  status: "sent",
  message: "If this email belongs to a member of the workspace, a sign-in link is on its way.",
} as const;

export const auth = router()
  .post(
    "/login",
    route({
      summary: "Email a sign-in link (always 202: the answer never tells whether the email is a member)",
      tags,
      auth: "public",
      responses: { 202: { description: "Accepted", schema: LoginAccepted } },
    }),
    body(Login),
    async (c) => {
      await limitPerIp(c, "login");
      const input = c.req.valid("json");
      const issued = await issueSignInLink(c.var.db, input.workspace, input.email);
      if (issued) {
        const link = `${publicOrigin(c)}/sign-in#token=${issued.token}`;
        await send(c.env, {
          workspaceId: issued.member.workspaceId,
          memberId: issued.member.id,
          channel: "email",
          to: input.email,
          subject: "Your sign-in link",
          text: `Hello ${issued.member.name},\n\nSign in with this link (valid ${SIGN_IN_LINK_MINUTES} minutes, once):\n${link}\n\nIf you did not ask for it, ignore this email.`,
        });
      }
      return c.json(LOGIN_ANSWER, 202);
    },
  )
  .post(
    "/verify",
    route({
      summary: "Redeem a sign-in link: sets the session cookie",
      tags,
      auth: "public",
      responses: {
        200: { description: "Signed in; the session cookie is set", schema: SignedIn },
        409: { description: "The link was already used" },
        410: { description: "The link expired" },
      },
    }),
    body(TokenBody),
    async (c) => {
      refuseForeignOrigin(c);
      const signedIn = await verifySignInLink(c.var.db, c.req.valid("json").token);
      setSessionCookie(c, signedIn.sessionToken);
      c.set("changedWorkspace", signedIn.workspaceId);
      return c.json({ member: signedIn.member });
    },
  )
  .post(
    "/logout",
    route({
      summary: "End the cookie's session",
      tags,
      auth: "public",
      responses: { 204: { description: "Signed out" } },
    }),
    async (c) => {
      const token = readSessionCookie(c);
      if (token) {
        requireSameOrigin(c);
        const workspaceId = await endSession(c.var.db, token);
        if (workspaceId) c.set("changedWorkspace", workspaceId);
      }
      clearSessionCookie(c);
      return c.body(null, 204);
    },
  );
