import { eq } from "drizzle-orm";
import type { Db } from "../lib/db";
import { type MessagingEnv, send } from "../outbox/send";
import type { OutboxChannel } from "../outbox/table";
import { workspaces } from "../platform/table";
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
  const [workspace] = await db
    .select({ name: workspaces.name })
    .from(workspaces)
    .where(eq(workspaces.id, d.workspaceId));
  const team = workspace?.name ?? "your workspace";
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
