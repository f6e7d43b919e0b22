import * as v from "valibot";
import { InvitationJson } from "../invitations/schema";
import { Cursor, Email, Id, Limit, ListOf, Name, Timestamp } from "../lib/fields";
import { Phone } from "../members/schema";

export const JOIN_REQUEST_STATES = ["pending", "approved", "denied"] as const;

export const SubmitJoinRequest = v.strictObject({
  name: Name,
  email: Email,
  phone: v.optional(Phone),
  message: v.optional(v.pipe(v.string(), v.trim(), v.maxLength(2000))),
  /** The Turnstile widget's response, required when the deployment sets TURNSTILE_SECRET. */
  turnstileToken: v.optional(v.pipe(v.string(), v.maxLength(2048))),
});

/** The one public answer, whoever asks: it must not reveal whether the email is known. */
export const JoinRequestReceived = v.object({ status: v.literal("received"), message: v.string() });

export const ListJoinRequestsQuery = v.strictObject({
  status: v.optional(v.picklist(JOIN_REQUEST_STATES)),
  limit: Limit,
  cursor: Cursor,
});

export const JoinRequestJson = v.object({
  id: Id,
  name: v.string(),
  email: v.string(),
  phone: v.nullable(v.string()),
  message: v.nullable(v.string()),
  status: v.picklist(JOIN_REQUEST_STATES),
  invitationId: v.nullable(v.string()),
  decidedBy: v.nullable(v.string()),
  decidedAt: v.nullable(Timestamp),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

export const JoinRequestPage = ListOf(JoinRequestJson);

export const Approve = v.strictObject({ role: v.optional(v.pipe(v.string(), v.maxLength(64)), "user") });

export const Approved = v.object({ joinRequest: JoinRequestJson, invitation: InvitationJson });
