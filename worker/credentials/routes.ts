import { ACTOR_REFUSAL } from "../access/actor-fields";
import { conditionResponses, hiddenResponse } from "../access/visibility";
import { router } from "../lib/app";
import { route } from "../lib/route";
import { body, query } from "../lib/validate";
import { publicOrigin } from "../sessions/cookie";
import { TokenBody } from "../sessions/schema";
import { findLink } from "./confirm";
import { deliverConfirmation } from "./deliver";
import { listCredentialChanges } from "./reads";
import { toApiError } from "./rules";
import {
  Confirmed,
  CredentialChangePage,
  ListCredentialChangesQuery,
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
      responses: {
        202: { description: "Pending until the member opens the link", schema: StartedChange },
        409: { description: "The value is taken (duplicate), the member is archived, or has no contact (no_contact)" },
        ...conditionResponses,
        403: { description: `${conditionResponses[403].description}, ${ACTOR_REFUSAL}` },
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

/** Mounted under /v1/credential-changes. */
export const credentialChangeLinks = router().post(
  "/confirm",
  route({
    summary: "Confirm a credential change by its link's token: the member's email or phone changes",
    tags,
    auth: "public",
    responses: {
      200: { description: "The member with the new value", schema: Confirmed },
      409: { description: "Used, superseded by a newer change, value taken meanwhile (duplicate), or member archived" },
      410: { description: "The link expired" },
    },
  }),
  body(TokenBody),
  async (c) => {
    const link = await findLink(c.var.db, c.req.valid("json").token);
    // Confirmations of one workspace run one at a time in its Durable Object.
    const result = await c.env.WORKSPACE.getByName(link.workspaceId).confirmCredentialChange(
      link.workspaceId,
      link.tokenHash,
    );
    if (!result.ok) throw toApiError(result);
    c.set("changedWorkspace", link.workspaceId);
    return c.json({ member: result.member });
  },
);
