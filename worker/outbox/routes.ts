import { and, desc, eq, lt, type SQL, sql } from "drizzle-orm";
import { type Caller, router } from "../app";
import { route } from "../auth/route";
import { decodeCursor, page } from "../lib/cursor";
import { query } from "../lib/validate";
import { normalizePhone } from "../members/phone";
import { holdsEveryScope, outranksSql } from "../members/rules";
import { members } from "../members/table";
import { reachFilter, reachOf } from "../reach/reach";
import { LINK_REMOVED, removeLinks } from "./links";
import { ListOutboxQuery, OutboxPage } from "./schema";
import { outbox as outboxTable } from "./table";

/** Addresses are stored normalized: emails lowercased, phones in E.164. */
function normalizeAddress(to: string): string {
  if (to.includes("@")) return to.toLowerCase();
  return normalizePhone(to)?.e164 ?? to;
}

/**
 * Under a role condition, only messages to an address that a member in the caller's
 * reach holds now: the outbox keeps full text and links (sign-in, invitation,
 * credential-change), which would hand over members beyond the condition. Messages to an
 * address nobody in reach holds (a former address, a join request's) are left out.
 * It holds `within` twice, as MAX_CONDITION_VALUES (worker/reach/to-sql.ts) allows for.
 */
function toMemberInReach(workspaceId: string, within: SQL): SQL {
  const holder = (column: typeof members.email | typeof members.phone) =>
    sql`exists (select 1 from ${members} where ${members.workspaceId} = ${workspaceId}
      and ${column} = ${outboxTable.to} and ${within})`;
  return sql`(${holder(members.email)} or ${holder(members.phone)})`;
}

/**
 * SQL: the caller may read the message's links. A link signs its holder in as the member
 * it was sent for (or accepts their invitation, or moves their email), so its text goes
 * whole only to a caller who holds every scope of the role of that member and of whoever
 * holds its address now (the rank rule, worker/members/rules.ts). A message for no member
 * (a join request's address, or an address nobody holds any more, sent before messages
 * named their member) goes whole only to a caller holding every scope.
 */
function linksReadable(caller: Caller): SQL {
  if (holdsEveryScope(caller.scopes)) return sql`1`;
  const recipients = sql`${members.workspaceId} = ${caller.workspaceId} and (${members.id} = ${outboxTable.memberId}
    or ${members.email} = ${outboxTable.to} or ${members.phone} = ${outboxTable.to})`;
  return sql`(exists (select 1 from ${members} where ${recipients}) and ${outranksSql(caller.scopes, recipients)})`;
}

/** The rule for the outbox's text, as its OpenAPI description states it. */
const TEXT_RULE = `A message's text goes whole only to a caller holding every scope of the role of the member it was sent for and of the member holding its address now (for a message to no member, such as a join request's address: every scope); others get it with each link and token replaced by "${LINK_REMOVED}" and \`linksRemoved: true\`.`;

export const outbox = router().get(
  "/",
  route({
    summary: "Messages the local outbox holds (no email/SMS provider configured), newest first",
    tags: ["Outbox"],
    auth: "workspace:admin",
    description: `${TEXT_RULE} Under a role condition, only the messages to an address that a member in the condition's reach holds now.`,
    responses: { 200: { description: "A page of messages", schema: OutboxPage } },
  }),
  query(ListOutboxQuery),
  async (c) => {
    const input = c.req.valid("query");
    const after = input.cursor ? decodeCursor(input.cursor, 1)[0] : undefined;
    const caller = c.var.caller;
    const ws = caller.workspaceId;
    const within = reachFilter(await reachOf(c.var.db, caller));
    const rows = await c.var.db
      .select({
        id: outboxTable.id,
        channel: outboxTable.channel,
        to: outboxTable.to,
        subject: outboxTable.subject,
        text: outboxTable.text,
        readable: sql<number>`${linksReadable(caller)}`,
        createdAt: outboxTable.createdAt,
      })
      .from(outboxTable)
      .where(
        and(
          eq(outboxTable.workspaceId, ws),
          within ? toMemberInReach(ws, within()) : undefined,
          input.to === undefined ? undefined : eq(outboxTable.to, normalizeAddress(input.to)),
          after ? lt(outboxTable.id, after) : undefined,
        ),
      )
      .orderBy(desc(outboxTable.id))
      .limit(input.limit + 1);
    const messages = rows.map(({ readable, text, ...message }) => ({
      ...message,
      text: readable ? text : removeLinks(text),
      linksRemoved: !readable,
    }));
    return c.json(page(messages, input.limit, (row) => [row.id]));
  },
);
