import { eq } from "drizzle-orm";
import type { Db } from "../lib/db";
import type { Member } from "../members/schema";
import { type MessagingEnv, send } from "../outbox/send";
import type { OutboxChannel } from "../outbox/table";
import { workspaces } from "../platform/table";
import { contactFor } from "./rules";
import type { CredentialKind } from "./table";

/** What a started change must send once its batch committed; the token exists only here and in the link. */
export type Delivery = {
  workspaceId: string;
  /** The member the link is for. */
  memberId: string;
  kind: CredentialKind;
  channel: OutboxChannel;
  /** The member's current email or phone: whoever holds it approves the change. */
  to: string;
  name: string;
  newValue: string;
  token: string;
};

/**
 * Sends the confirmation link to the member's current contact. The token sits in the URL
 * fragment, which browsers never send to servers or in Referer headers.
 */
export async function deliverConfirmation(env: MessagingEnv, db: Db, origin: string, d: Delivery, hours: number) {
  const team = await teamName(db, d.workspaceId);
  const link = `${origin}/credential-change#token=${d.token}`;
  const what = d.kind === "email" ? "email address" : "phone number";
  const text =
    d.channel === "email"
      ? `Hello ${d.name},\n\n${team} asked to change your ${what} to ${d.newValue}. ` +
        `Review and confirm it within ${hours} hours on this page (the link works once):\n${link}\n\n` +
        "If you did not expect this, ignore this message: nothing changes until you confirm.\n"
      : `${team}: confirm changing your ${what} to ${d.newValue}: ${link} (valid ${hours} h)`;
  return send(env, {
    workspaceId: d.workspaceId,
    memberId: d.memberId,
    channel: d.channel,
    to: d.to,
    subject: `Confirm your new ${what}`,
    text,
  });
}

async function teamName(db: Db, workspaceId: string) {
  const [workspace] = await db.select({ name: workspaces.name }).from(workspaces).where(eq(workspaces.id, workspaceId));
  return workspace?.name ?? "your workspace";
}

/** The rule for the notice after a confirmed change, as the confirm route's OpenAPI description states it. */
export const NOTICE_RULE =
  "Once confirmed, a notice (no link, no token) tells the member's old contact that the change was made: by email to the member's email as it was before the change (the old one, for an email change), or by SMS to their phone as it was before when they had no email.";

/**
 * Tells the member, after their change committed, that it was made: at their contact as
 * it was before it (`NOTICE_RULE`), so that whoever held the account before learns that it
 * moved. The message carries no link and no token.
 */
export async function deliverChangeNotice(
  env: MessagingEnv,
  db: Db,
  workspaceId: string,
  member: Pick<Member, "id" | "name" | "email" | "phone">,
  replaced: { kind: CredentialKind; oldValue: string | null },
) {
  const before = { email: member.email, phone: member.phone, [replaced.kind]: replaced.oldValue };
  const contact = contactFor("email", before);
  if (!contact) return;
  const team = await teamName(db, workspaceId);
  const what = replaced.kind === "email" ? "email address" : "phone number";
  const changedTo = member[replaced.kind];
  const text =
    contact.channel === "email"
      ? `Hello ${member.name},\n\nThe ${what} of your account at ${team} was changed to ${changedTo}, ` +
        "confirmed with the link we sent you.\n\n" +
        `If you did not confirm this change, contact the admins of ${team} right away.\n`
      : `${team}: your ${what} was changed to ${changedTo}. Not you? Contact the admins of ${team}.`;
  return send(env, {
    workspaceId,
    memberId: member.id,
    channel: contact.channel,
    to: contact.to,
    subject: `Your ${what} was changed`,
    text,
  });
}
