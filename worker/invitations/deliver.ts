import { eq } from "drizzle-orm";
import type { Db } from "../lib/db";
import { type MessagingEnv, send } from "../outbox/send";
import { workspaces } from "../platform/table";
import { type Delivery, INVITATION_DAYS } from "./writes";

/**
 * Sends an invitation's link: by email, or by SMS for a phone invitation. The token
 * sits in the URL fragment, which browsers never send to servers or in Referer headers.
 */
export async function deliverInvitation(env: MessagingEnv, db: Db, origin: string, delivery: Delivery) {
  const [workspace] = await db
    .select({ name: workspaces.name })
    .from(workspaces)
    .where(eq(workspaces.id, delivery.workspaceId));
  const team = workspace?.name ?? "a workspace";
  const link = `${origin}/join#token=${delivery.token}`;
  const text =
    delivery.channel === "email"
      ? `Hello ${delivery.name},\n\nYou are invited to join ${team}. Accept within ${INVITATION_DAYS} days:\n${link}\n`
      : `You are invited to join ${team}: ${link} (valid ${INVITATION_DAYS} days)`;
  return send(env, {
    workspaceId: delivery.workspaceId,
    memberId: delivery.memberId,
    channel: delivery.channel,
    to: delivery.to,
    subject: `Invitation to join ${team}`,
    text,
  });
}
