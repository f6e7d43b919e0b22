import { router } from "../app";
import { route } from "../auth/route";
import { database } from "../lib/db";
import { logUnexpected } from "../lib/errors";
import { limitClientAndTarget } from "../lib/rate-limit";
import { body } from "../lib/validate";
import { type MessagingEnv, send } from "../outbox/send";
import { shardOfSlug } from "../shards/directory";
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
import { TOKEN_FLOOD } from "./tokens";

const tags = ["Sign-in"];
const LOGIN_ANSWER = {
  status: "sent",
  message: "If this email belongs to a member of the workspace, a sign-in link is on its way.",
} as const;

/**
 * Issues and emails a sign-in link if the email is an active member's; runs after the
 * answer (waitUntil), so a failure is logged, never answered.
 */
async function emailSignInLink(env: MessagingEnv, origin: string, input: { workspace: string; email: string }) {
  try {
    const found = await shardOfSlug(env, input.workspace);
    if (!found) return;
    const issued = await issueSignInLink(database(found.shard.d1), found.workspaceId, input.email);
    if (!issued) return;
    await send(env, {
      workspaceId: issued.member.workspaceId,
      memberId: issued.member.id,
      channel: "email",
      to: input.email,
      subject: "Your sign-in link",
      text: `Hello ${issued.member.name},\n\nSign in with this link (valid ${SIGN_IN_LINK_MINUTES} minutes, once):\n${origin}/sign-in#token=${issued.token}\n\nIf you did not ask for it, ignore this email.`,
    });
  } catch (err) {
    logUnexpected(err, "/v1/auth/login");
  }
}

export const auth = router()
  .post(
    "/login",
    route({
      summary: "Email a sign-in link (always 202: the answer never tells whether the email is a member)",
      description:
        "The answer is made before anything is looked up: the link is issued and sent after it, so its status, " +
        "body, headers and timing are the same for a member, a stranger and an unknown workspace. Limited per " +
        "client IP and per workspace and email (429 with Retry-After).",
      tags,
      auth: "public",
      responses: {
        202: { description: "Accepted", schema: LoginAccepted },
        429: { description: "Too many requests from this client, or for this email" },
      },
    }),
    body(Login),
    async (c) => {
      const input = c.req.valid("json");
      await limitClientAndTarget(c, "login", `${input.workspace}\n${input.email}`);
      c.executionCtx.waitUntil(emailSignInLink(c.env, publicOrigin(c), input));
      return c.json(LOGIN_ANSWER, 202);
    },
  )
  .post(
    "/verify",
    route({
      summary: "Redeem a sign-in link: sets the session cookie",
      tags,
      auth: "public",
      signsIn: true,
      responses: {
        200: { description: "Signed in; the session cookie is set", schema: SignedIn },
        409: { description: "The link was already used" },
        410: { description: "The link expired" },
        429: TOKEN_FLOOD,
      },
    }),
    body(TokenBody),
    async (c) => {
      refuseForeignOrigin(c);
      const { token } = c.req.valid("json");
      await limitClientAndTarget(c, "verify", token);
      const signedIn = await verifySignInLink(c, token);
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
      responses: {
        204: { description: "Signed out" },
        403: { description: "`csrf_rejected`: the request comes from a page of another site" },
      },
    }),
    async (c) => {
      const token = readSessionCookie(c);
      if (token) {
        requireSameOrigin(c);
        const workspaceId = await endSession(c, token);
        if (workspaceId) c.set("changedWorkspace", workspaceId);
      }
      clearSessionCookie(c);
      return c.body(null, 204);
    },
  );
