import { and, desc, eq, lt, type SQL, sql } from "drizzle-orm";
import { accessOf, visibleFilter } from "../access/visibility";
import { router } from "../lib/app";
import { decodeCursor, page } from "../lib/cursor";
import { route } from "../lib/route";
import { query } from "../lib/validate";
import { normalizePhone } from "../members/phone";
import { members } from "../members/table";
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
 * It holds `visible` twice, as MAX_CONDITION_VALUES (worker/access/to-sql.ts) allows for.
 */
function toMemberInReach(workspaceId: string, visible: SQL): SQL {
  const holder = (column: typeof members.email | typeof members.phone) =>
    sql`exists (select 1 from ${members} where ${members.workspaceId} = ${workspaceId}
      and ${column} = ${outboxTable.to} and ${visible})`;
  return sql`(${holder(members.email)} or ${holder(members.phone)})`;
}

export const outbox = router().get(
  "/",
  route({
    summary: "Messages the local outbox holds (no email/SMS provider configured), newest first",
    tags: ["Outbox"],
    auth: "workspace:admin",
    description:
      "Under a role condition, only the messages to an address that a member in the condition's reach holds now.",
    responses: { 200: { description: "A page of messages, full text and links included", schema: OutboxPage } },
  }),
  query(ListOutboxQuery),
  async (c) => {
    const input = c.req.valid("query");
    const after = input.cursor ? decodeCursor(input.cursor, 1)[0] : undefined;
    const ws = c.var.caller.workspaceId;
    const visible = visibleFilter(await accessOf(c.var.db, c.var.caller));
    const rows = await c.var.db
      .select({
        id: outboxTable.id,
        channel: outboxTable.channel,
        to: outboxTable.to,
        subject: outboxTable.subject,
        text: outboxTable.text,
        createdAt: outboxTable.createdAt,
      })
      .from(outboxTable)
      .where(
        and(
          eq(outboxTable.workspaceId, ws),
          visible ? toMemberInReach(ws, visible()) : undefined,
          input.to === undefined ? undefined : eq(outboxTable.to, normalizeAddress(input.to)),
          after ? lt(outboxTable.id, after) : undefined,
        ),
      )
      .orderBy(desc(outboxTable.id))
      .limit(input.limit + 1);
    return c.json(page(rows, input.limit, (row) => [row.id]));
  },
);
