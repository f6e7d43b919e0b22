import { inArray, sql } from "drizzle-orm";
import type { ErrorCode } from "../lib/error-codes";
import { ApiError } from "../lib/errors";
import { type MemberRow, type MemberStatus, members } from "../members/table";
import type { OutboxChannel } from "../outbox/table";
import type { CredentialKind } from "./table";

/**
 * Why a change cannot go on, as plain data: it crosses the Durable Object's RPC
 * boundary intact, where an ApiError would arrive as a bare Error.
 */
export type Refusal = { code: ErrorCode; message: string; existingId?: string };

export const toApiError = (r: Refusal) =>
  ApiError.of(r.code, r.message, r.existingId ? { existingId: r.existingId } : {});

/** Members whose email or phone may change: people, not archived or anonymous records. */
export const CHANGEABLE: MemberStatus[] = ["active", "invited"];

export const memberIsChangeable = (memberId: string) =>
  sql`exists (select 1 from ${members} where ${members.id} = ${memberId} and ${inArray(members.status, CHANGEABLE)})`;

/** Why a member's credentials cannot change; see `memberRefusal`. */
export function notChangeable(status: MemberStatus | undefined): Refusal {
  if (status === "archived") {
    return { code: "member_archived", message: "This member is archived; unarchive them first." };
  }
  return {
    code: "member_not_changeable",
    message: `A member who is ${status ?? "gone"} has no credentials to change.`,
  };
}

export const memberRefusal = (member: Pick<MemberRow, "status"> | undefined): Refusal | null =>
  member && CHANGEABLE.includes(member.status) ? null : notChangeable(member?.status);

/** The member's column a change of this kind writes. */
export const columnOf = (kind: CredentialKind) => (kind === "email" ? members.email : members.phone);

/**
 * Where the confirmation link goes: the member's current contact, never the new value.
 * A phone change goes by SMS to the current phone, or by email when there is none; an
 * email change goes to the current email, or by SMS when there is none.
 */
export function contactFor(
  kind: CredentialKind,
  member: Pick<MemberRow, "email" | "phone">,
): { channel: OutboxChannel; to: string } | null {
  const email = member.email ? ({ channel: "email", to: member.email } as const) : null;
  const sms = member.phone ? ({ channel: "sms", to: member.phone } as const) : null;
  return kind === "email" ? (email ?? sms) : (sms ?? email);
}
