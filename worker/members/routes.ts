import { anonymousResponse, requireAnonymousAccess } from "../anonymous/access";
import { router } from "../app";
import { route } from "../auth/route";
import { LABEL_DELETING_RESPONSE } from "../labels/guard";
import { ListOf } from "../lib/fields";
import { body, query } from "../lib/validate";
import { ACTOR_REFUSAL } from "../reach/actor-fields";
import { conditionResponses, hiddenResponse, reachFilter, reachOf } from "../reach/reach";
import { ExportMembersQuery, exportMembers } from "./export";
import { getMember, listMembers } from "./reads";
import { ROLE_RULE } from "./rules";
import { AddLabels, CreateMember, ListMembersQuery, MemberJson, PatchMember } from "./schema";
import { addLabels, changeStatus, createMember, patchMember, removeLabel } from "./writes";

/** A write on a member: refused by a role condition, or on an anonymous member without members:admin. */
const writeResponses = {
  ...conditionResponses,
  403: {
    description: `${conditionResponses[403].description}, ${ACTOR_REFUSAL}; or ${anonymousResponse[403].description}`,
  },
} as const;

const tags = ["Members"];
const CUSTOMERS_SEE_THEMSELVES =
  "A customer (a member whose role has type `customer`, such as the built-in `user`) reaches only themselves.";
const member = { description: "The member", schema: MemberJson };

export const members = router()
  .post(
    "/",
    route({
      summary: "Add a member",
      description: ROLE_RULE,
      tags,
      auth: "members:write",
      responses: {
        201: member,
        403: { description: `${conditionResponses[403].description}, ${ACTOR_REFUSAL}` },
        409: { description: `duplicate: an identifier is taken; ${LABEL_DELETING_RESPONSE}` },
      },
    }),
    body(CreateMember),
    async (c) => c.json(await createMember(c.var.db, c.var.caller, c.req.valid("json")), 201),
  )
  .get(
    "/",
    route({
      summary: "List members (keyset pages, newest first; by matching term with q)",
      description: `Under a role condition, only the members it reaches. ${CUSTOMERS_SEE_THEMSELVES}`,
      tags,
      auth: "members:read",
      responses: { 200: { description: "A page of members", schema: ListOf(MemberJson) } },
    }),
    query(ListMembersQuery),
    async (c) => {
      requireAnonymousAccess(c.var.caller, c.req.valid("query").status);
      const within = reachFilter(await reachOf(c.var.db, c.var.caller));
      return c.json(await listMembers(c.var.db, c.var.caller.workspaceId, c.req.valid("query"), within));
    },
  )
  .get(
    "/export",
    route({
      summary: "Export members as CSV or NDJSON (the list's filters; every matching member)",
      description:
        "Streams every member the list's filters match (`status` defaults to active), within the caller's reach, read in keyset pages: " +
        "`format=ndjson` one Member JSON a line; `format=csv` (the default) the import's columns " +
        "(email, phone, external_id, name, description, labels, role), then one `attributes.<key>` column for each key the members hold, " +
        'a file `POST /v1/imports` takes back unchanged. In CSV, attribute numbers and booleans are written as they are (`42`, `true`), and a string the import would read otherwise (`"42"`, `"true"`, an empty or padded string) in JSON quotes; ' +
        "a cell a spreadsheet would run as a formula starts with `'`, which the import takes off. " +
        `422 when the members hold more attribute keys than a CSV the import takes has columns (use ndjson). ${CUSTOMERS_SEE_THEMSELVES}`,
      tags,
      auth: "members:read",
      responses: {
        200: {
          description: "The members: text/csv for format=csv, application/x-ndjson for format=ndjson",
          contentType: ["text/csv", "application/x-ndjson"],
        },
      },
    }),
    query(ExportMembersQuery),
    async (c) => {
      const { format, ...filters } = c.req.valid("query");
      requireAnonymousAccess(c.var.caller, filters.status);
      const within = reachFilter(await reachOf(c.var.db, c.var.caller));
      const body = await exportMembers(c.var.db, c.var.caller.workspaceId, format, filters, within);
      const file = `members-${new Date().toISOString().slice(0, 10)}.${format}`;
      return new Response(body, {
        headers: {
          "Content-Type": format === "csv" ? "text/csv; charset=utf-8" : "application/x-ndjson",
          "Content-Disposition": `attachment; filename="${file}"`,
        },
      });
    },
  )
  .get(
    "/:id",
    route({
      summary: "Get a member",
      description: `404 for a member out of a role condition's reach. ${CUSTOMERS_SEE_THEMSELVES}`,
      tags,
      auth: "members:read",
      targetMember: "id",
      responses: { 200: member, ...anonymousResponse, ...hiddenResponse },
    }),
    async (c) => {
      const found = await getMember(c.var.db, c.var.caller.workspaceId, c.req.param("id"));
      requireAnonymousAccess(c.var.caller, found.status);
      return c.json(found);
    },
  )
  .patch(
    "/:id",
    route({
      summary: "Edit a member (not email or phone)",
      description: `Appends member.updated; when \`labels\` gives or takes labels, then member.labeled naming those given and member.unlabeled naming those taken (a label edit racing another label change is tried again on the labels as they now are; 409 edit_conflict if they kept changing). ${ROLE_RULE}`,
      tags,
      auth: "members:write",
      targetMember: "id",
      responses: {
        200: member,
        ...writeResponses,
        409: {
          description: `The external ID is taken (duplicate), a caller changing their own role (cannot_change_own_role), labels (or, on a conditioned caller's own record, fields their condition reads on \`actor\`) that kept changing meanwhile (edit_conflict), or ${LABEL_DELETING_RESPONSE}`,
        },
      },
    }),
    body(PatchMember),
    async (c) => c.json(await patchMember(c.var.db, c.var.caller, c.req.param("id"), c.req.valid("json"))),
  )
  .post(
    "/:id/archive",
    route({
      summary: "Archive a member",
      description:
        "Active or invited members; appends member.archived. An invitee's pending invitation is revoked in the same batch (invitation.revoked): its link stops working and a new invitation may be sent.",
      tags,
      auth: "members:write",
      targetMember: "id",
      responses: { 200: member, ...writeResponses },
    }),
    async (c) =>
      c.json(
        await changeStatus(c.var.db, c.var.caller, c.req.param("id"), {
          from: ["active", "invited"],
          to: "archived",
          event: "member.archived",
        }),
      ),
  )
  .post(
    "/:id/unarchive",
    route({
      summary: "Unarchive a member",
      tags,
      auth: "members:write",
      targetMember: "id",
      responses: { 200: member, ...writeResponses },
    }),
    async (c) =>
      c.json(
        await changeStatus(c.var.db, c.var.caller, c.req.param("id"), {
          from: ["archived"],
          to: "active",
          event: "member.unarchived",
        }),
      ),
  )
  .post(
    "/:id/labels",
    route({
      summary: "Add labels to a member (unknown slugs create the label)",
      tags,
      auth: "members:write",
      targetMember: "id",
      responses: { 200: member, ...writeResponses, 409: { description: LABEL_DELETING_RESPONSE } },
    }),
    body(AddLabels),
    async (c) => c.json(await addLabels(c.var.db, c.var.caller, c.req.param("id"), c.req.valid("json"))),
  )
  .delete(
    "/:id/labels/:slug",
    route({
      summary: "Remove a label from a member",
      tags,
      auth: "members:write",
      targetMember: "id",
      responses: { 200: member, ...writeResponses },
    }),
    async (c) => c.json(await removeLabel(c.var.db, c.var.caller, c.req.param("id"), c.req.param("slug"))),
  );
