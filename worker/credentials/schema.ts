import * as v from "valibot";
import { Cursor, Email, Id, Limit, ListOf, Timestamp } from "../lib/fields";
import { MemberJson, Phone } from "../members/schema";
import { OUTBOX_CHANNELS } from "../outbox/schema";
import { CREDENTIAL_KINDS } from "./table";

/** The new value, by kind; a phone is normalized to E.164 when the change starts (./start.ts). */
export const StartCredentialChange = v.variant("kind", [
  v.strictObject({ kind: v.literal("email"), value: Email }),
  v.strictObject({ kind: v.literal("phone"), value: Phone }),
]);

export const CREDENTIAL_CHANGE_STATUSES = ["pending", "confirmed", "superseded", "expired"] as const;

/** What starting a change answers (202): no values, no token. */
export const StartedChange = v.object({
  id: Id,
  kind: v.picklist(CREDENTIAL_KINDS),
  status: v.literal("pending"),
  sentTo: v.picklist(OUTBOX_CHANNELS),
  expiresAt: Timestamp,
});
export type StartedChange = v.InferOutput<typeof StartedChange>;

/** A change as `members:admin` sees it in the audit list, old and new values included. */
export const CredentialChangeJson = v.object({
  id: Id,
  memberId: Id,
  kind: v.picklist(CREDENTIAL_KINDS),
  status: v.picklist(CREDENTIAL_CHANGE_STATUSES),
  oldValue: v.nullable(v.string()),
  newValue: v.string(),
  sentTo: v.picklist(OUTBOX_CHANNELS),
  requestedBy: v.nullable(v.string()),
  expiresAt: Timestamp,
  confirmedAt: v.nullable(Timestamp),
  createdAt: Timestamp,
});
export type CredentialChange = v.InferOutput<typeof CredentialChangeJson>;

export const CredentialChangePage = ListOf(CredentialChangeJson);
export const ListCredentialChangesQuery = v.strictObject({ limit: Limit, cursor: Cursor });
export const Confirmed = v.object({ member: MemberJson });

/** What a confirmation link would change, for the confirm page to show before the member confirms. */
export const PendingChange = v.object({
  kind: v.picklist(CREDENTIAL_KINDS),
  oldValue: v.pipe(v.nullable(v.string()), v.description("The member's value now: what confirming replaces.")),
  newValue: v.string(),
  expiresAt: Timestamp,
});
export type PendingChange = v.InferOutput<typeof PendingChange>;
