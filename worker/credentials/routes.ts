import { router } from "../app";
import { route } from "../auth/route";
import { noteBookmark } from "../lib/d1-sessions";
import { limitClientAndTarget } from "../lib/rate-limit";
import { body, query } from "../lib/validate";
import { RANK_RULE } from "../members/rules";
import { ACTOR_REFUSAL } from "../reach/actor-fields";
import { hiddenResponse } from "../reach/reach";
import { publicOrigin } from "../sessions/cookie";
import { TokenBody } from "../sessions/schema";
import { TOKEN_FLOOD } from "../sessions/tokens";
import { findLink, previewChange } from "./confirm";
import { deliverChangeNotice, deliverConfirmation, NOTICE_RULE } from "./deliver";
import { listCredentialChanges } from "./reads";
import { toApiError } from "./rules";
import {
  Confirmed,
  CredentialChangePage,
  ListCredentialChangesQuery,
  PendingChange,
  StartCredentialChange,
  StartedChange,
} from "./schema";
import { linkHours, startCredentialChange } from "./start";

const tags = ["Credential changes"];

/** Mounted under /v1/members. */
export const memberCredentialChanges = router()
  .post(
    "/:id/credential-changes",
    route({
      targetMember: "id",
      summary: "Start an email or phone change: a confirmation link goes to the member's current contact",
      tags,
      auth: "members:write",
      description: `${RANK_RULE} The member confirms on the link's page, which shows the old and the new value and changes nothing until they press Confirm.`,
      responses: {
        202: { description: "Pending until the member confirms on the link's page", schema: StartedChange },
        403: {
          description: `The member's role holds a scope the caller lacks (role_exceeds_caller), or the change would take the member out of the caller's role condition (forbidden_by_condition), ${ACTOR_REFUSAL}`,
        },
        409: { description: "The value is taken (duplicate), the member is archived, or has no contact (no_contact)" },
        ...hiddenResponse,
      },
    }),
    body(StartCredentialChange),
    async (c) => {
      const started = await startCredentialChange(
        c.var.db,
        c.env,
        c.var.caller,
        c.req.param("id"),
        c.req.valid("json"),
      );
      await deliverConfirmation(c.env, c.var.db, publicOrigin(c), started.delivery, linkHours(c.env));
      return c.json(started.change, 202);
    },
  )
  .get(
    "/:id/credential-changes",
    route({
      targetMember: "id",
      summary: "A member's credential changes with old and new values, newest first",
      tags,
      auth: "members:admin",
      responses: {
        200: { description: "A page of credential changes", schema: CredentialChangePage },
        ...hiddenResponse,
      },
    }),
    query(ListCredentialChangesQuery),
    async (c) =>
      c.json(await listCredentialChanges(c.var.db, c.var.caller.workspaceId, c.req.param("id"), c.req.valid("query"))),
  );

const linkRefusals = {
  404: { description: "No such link (unknown_token)" },
  409: { description: "Used, superseded by a newer change, value taken meanwhile (duplicate), or member archived" },
  410: { description: "The link expired" },
  429: TOKEN_FLOOD,
};

/** Mounted under /v1/credential-changes. */
export const credentialChangeLinks = router()
  .post(
    "/preview",
    route({
      summary: "What a credential change's link would change, read without changing anything",
      description:
        "For the confirm page, which shows the old and the new value before the member presses Confirm: opening a link confirms nothing. Answers the errors confirming would answer.",
      tags,
      auth: "public",
      responses: {
        200: { description: "The pending change: kind, the value now, the new value, expiry", schema: PendingChange },
        ...linkRefusals,
      },
    }),
    body(TokenBody),
    async (c) => {
      const { token } = c.req.valid("json");
      await limitClientAndTarget(c, "preview", token);
      return c.json(await previewChange(c, token));
    },
  )
  .post(
    "/confirm",
    route({
      summary: "Confirm a credential change by its link's token: the member's email or phone changes",
      description: NOTICE_RULE,
      tags,
      auth: "public",
      responses: {
        200: { description: "The member with the new value", schema: Confirmed },
        ...linkRefusals,
      },
    }),
    body(TokenBody),
    async (c) => {
      const { token } = c.req.valid("json");
      await limitClientAndTarget(c, "confirm", token);
      const link = await findLink(c, token);
      // Confirmations of one workspace run one at a time in its Durable Object.
      const result = await c.env.WORKSPACE.getByName(link.workspaceId).confirmCredentialChange(
        link.workspaceId,
        link.tokenHash,
      );
      if (!result.ok) throw toApiError(result);
      c.set("changedWorkspace", link.workspaceId);
      // Made in the object: the poke must read at least where it committed.
      noteBookmark(c, result.bookmark);
      // After the commit, as the link was sent after the start's.
      await deliverChangeNotice(c.env, c.var.db, link.workspaceId, result.member, result.replaced);
      return c.json({ member: result.member });
    },
  );
