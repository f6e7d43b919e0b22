import * as v from "valibot";
import { Cursor, Email, Id, Limit, Name, Slug, Timestamp } from "../lib/fields";
import { MEMBER_TYPES } from "../roles/scopes";
import { AttributesPatch, AttributesSchema } from "./attributes";

/** Kept here, not beside the table, so the wire shapes stay free of server-only code (the web parses events with them). */
export const MEMBER_STATUSES = ["active", "invited", "archived", "anonymous", "merged", "expired"] as const;

export const Phone = v.pipe(v.string(), v.trim(), v.maxLength(32));
export const ExternalId = v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(200));
export const LabelSlugs = v.pipe(v.array(Slug), v.maxLength(50));
const RoleKey = v.pipe(v.string(), v.maxLength(64));

export const CreateMember = v.strictObject({
  name: Name,
  email: v.optional(Email),
  phone: v.optional(Phone),
  role: v.optional(RoleKey, "user"),
  externalId: v.optional(ExternalId),
  description: v.optional(v.pipe(v.string(), v.maxLength(2000))),
  labels: v.optional(LabelSlugs, []),
  attributes: v.optional(AttributesSchema),
});

export const PatchMember = v.strictObject({
  name: v.optional(Name),
  role: v.optional(RoleKey),
  externalId: v.optional(v.nullable(ExternalId)),
  description: v.optional(v.nullable(v.pipe(v.string(), v.maxLength(2000)))),
  labels: v.optional(LabelSlugs),
  attributes: v.optional(v.nullable(AttributesPatch)),
  // Present only to answer 422 use_credential_change instead of an unknown-field error.
  email: v.optional(v.unknown()),
  phone: v.optional(v.unknown()),
});

export const AddLabels = v.strictObject({ labels: v.pipe(LabelSlugs, v.minLength(1)) });

const OneOrMany = v.pipe(
  v.union([Slug, v.array(Slug)]),
  v.transform((s) => (Array.isArray(s) ? s : [s])),
  v.maxLength(10),
);

export const ListMembersQuery = v.strictObject({
  status: v.optional(v.picklist(MEMBER_STATUSES), "active"),
  type: v.optional(v.picklist(MEMBER_TYPES)),
  role: v.optional(RoleKey),
  label: v.optional(OneOrMany),
  q: v.optional(v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(100))),
  limit: Limit,
  cursor: Cursor,
});

/** The contract's Member JSON; `memberJson` in ./json.ts produces it. */
export const MemberJson = v.object({
  id: Id,
  name: v.string(),
  email: v.nullable(v.string()),
  phone: v.nullable(v.string()),
  role: v.string(),
  type: v.picklist(MEMBER_TYPES),
  externalId: v.nullable(v.string()),
  description: v.nullable(v.string()),
  labels: v.array(v.string()),
  // Events stored before attributes existed have none.
  attributes: v.optional(v.record(v.string(), v.union([v.string(), v.number(), v.boolean()])), {}),
  status: v.picklist(MEMBER_STATUSES),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

export type Member = v.InferOutput<typeof MemberJson>;
