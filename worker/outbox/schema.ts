import * as v from "valibot";
import { Cursor, Limit, ListOf, Timestamp } from "../lib/fields";

export const OUTBOX_CHANNELS = ["email", "sms"] as const;

export const ListOutboxQuery = v.strictObject({
  to: v.optional(v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(254))),
  limit: Limit,
  cursor: Cursor,
});

export const OutboxMessageJson = v.object({
  id: v.string(),
  channel: v.picklist(OUTBOX_CHANNELS),
  to: v.string(),
  subject: v.nullable(v.string()),
  text: v.string(),
  linksRemoved: v.pipe(
    v.boolean(),
    v.description("True when the caller may not read this message's links: `text` has each one replaced."),
  ),
  createdAt: Timestamp,
});

export const OutboxPage = ListOf(OutboxMessageJson);
