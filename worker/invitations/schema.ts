import * as v from "valibot";
import { Cursor, Email, Id, Limit, ListOf, Name, Timestamp } from "../lib/fields";
import { MemberJson, Phone } from "../members/schema";
import { OUTBOX_CHANNELS } from "../outbox/schema";

export const INVITATION_STATUSES = ["pending", "accepted", "expired", "revoked"] as const;
const RoleKey = v.pipe(v.string(), v.maxLength(64));

/** By email (the contract), or by phone: the link then goes by SMS. */
export const CreateInvitation = v.pipe(
  v.strictObject({
    email: v.optional(Email),
    phone: v.optional(Phone),
    role: v.optional(RoleKey, "user"),
    name: v.optional(Name),
  }),
  v.check((input) => input.email !== undefined || input.phone !== undefined, "Give an email or a phone."),
);

export const ListInvitationsQuery = v.strictObject({
  status: v.optional(v.picklist(INVITATION_STATUSES)),
  memberId: v.optional(
    v.pipe(Id, v.description("Only this member's invitations (none for a member of another workspace).")),
  ),
  limit: Limit,
  cursor: Cursor,
});

/** The contract's invitation JSON; `invitationJson` in ./json.ts builds it. */
export const InvitationJson = v.object({
  id: Id,
  memberId: Id,
  email: v.nullable(v.string()),
  phone: v.nullable(v.string()),
  channel: v.picklist(OUTBOX_CHANNELS),
  role: v.string(),
  status: v.picklist(INVITATION_STATUSES),
  expiresAt: Timestamp,
  sentAt: Timestamp,
  acceptedAt: v.nullable(Timestamp),
  revokedAt: v.nullable(Timestamp),
  joinRequestId: v.nullable(v.string()),
  createdAt: Timestamp,
});
export type Invitation = v.InferOutput<typeof InvitationJson>;

export const InvitationPage = ListOf(InvitationJson);
export const Accepted = v.object({ member: MemberJson });
