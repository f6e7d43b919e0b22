import { and, desc, eq, lt } from "drizzle-orm";
import { router } from "../lib/app";
import { decodeCursor, page } from "../lib/cursor";
import { route } from "../lib/route";
import { query } from "../lib/validate";
import { normalizePhone } from "../members/phone";
import { ListOutboxQuery, OutboxPage } from "./schema";
import { outbox as outboxTable } from "./table";

/** Addresses are stored normalized: emails lowercased, phones in E.164. */
function normalizeAddress(to: string): string {
  if (to.includes("@")) return to.toLowerCase();
  return normalizePhone(to)?.e164 ?? to;
}

export const outbox = router().get(
  "/",
  route({
    summary: "Messages the local outbox holds (no email/SMS provider configured), newest first",
    tags: ["Outbox"],
    auth: "workspace:admin",
    responses: { 200: { description: "A page of messages, full text and links included", schema: OutboxPage } },
  }),
  query(ListOutboxQuery),
  async (c) => {
    const input = c.req.valid("query");
    const after = input.cursor ? decodeCursor(input.cursor, 1)[0] : undefined;
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
          eq(outboxTable.workspaceId, c.var.caller.workspaceId),
          input.to === undefined ? undefined : eq(outboxTable.to, normalizeAddress(input.to)),
          after ? lt(outboxTable.id, after) : undefined,
        ),
      )
      .orderBy(desc(outboxTable.id))
      .limit(input.limit + 1);
    return c.json(page(rows, input.limit, (row) => [row.id]));
  },
);
