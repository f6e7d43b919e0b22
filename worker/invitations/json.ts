import { sql } from "drizzle-orm";
import type { Invitation } from "./schema";
import { invitations } from "./table";

/** "expired" is not stored: a pending invitation past its `expiresAt` reads as expired. */
export const invitationStatus = (at: string) =>
  sql<string>`case when ${invitations.status} = 'pending' and ${invitations.expiresAt} <= ${at}
    then 'expired' else ${invitations.status} end`;

/** Invitation JSON built by SQL, so responses and events read the row as committed. */
export const invitationJson = (at: string) => sql<string>`json_object(
  'id', ${invitations.id}, 'memberId', ${invitations.memberId}, 'email', ${invitations.email},
  'phone', ${invitations.phone}, 'channel', ${invitations.channel}, 'role', ${invitations.role},
  'status', ${invitationStatus(at)}, 'expiresAt', ${invitations.expiresAt}, 'sentAt', ${invitations.sentAt},
  'acceptedAt', ${invitations.acceptedAt}, 'revokedAt', ${invitations.revokedAt},
  'joinRequestId', ${invitations.joinRequestId}, 'createdAt', ${invitations.createdAt})`;

export const parseInvitation = (json: string) => JSON.parse(json) as Invitation;
