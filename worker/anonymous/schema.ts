import * as v from "valibot";
import { Cursor, Id, Limit, ListOf } from "../lib/fields";
import { MemberJson } from "../members/schema";
import { MessageJson } from "./json";

export const ResolveBody = v.strictObject({ targetId: Id });
export const PreviewQuery = v.strictObject({ targetId: Id });
export const MessagesQuery = v.strictObject({ limit: Limit, cursor: Cursor });

export const MessagePage = ListOf(MessageJson);
export const Resolved = v.object({
  member: MemberJson,
  moved: v.pipe(v.number(), v.description("How many messages and calls moved.")),
});
export const Restored = v.object({
  member: MemberJson,
  restored: v.pipe(v.number(), v.description("How many messages and calls went back.")),
});
export const MergePreview = v.object({
  source: MemberJson,
  target: MemberJson,
  identifier: v.nullable(v.string()),
  messages: v.object({ count: v.number(), firstAt: v.nullable(v.string()), lastAt: v.nullable(v.string()) }),
  targetMessagesAfter: v.number(),
});
