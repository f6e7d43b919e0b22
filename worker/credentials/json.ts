import { sql } from "drizzle-orm";
import type { CredentialChange, StartedChange } from "./schema";
import { credentialChanges as cc } from "./table";

/** "expired" is not stored: a pending change past its `expiresAt` reads as expired. */
const status = (at: string) =>
  sql<string>`case when ${cc.status} = 'pending' and ${cc.expiresAt} <= ${at} then 'expired' else ${cc.status} end`;

/** The change as `members:admin` sees it, built by SQL from the row as committed. */
export const changeJson = (at: string) => sql<string>`json_object(
  'id', ${cc.id}, 'memberId', ${cc.memberId}, 'kind', ${cc.kind}, 'status', ${status(at)},
  'oldValue', ${cc.oldValue}, 'newValue', ${cc.newValue}, 'sentTo', ${cc.sentTo},
  'requestedBy', ${cc.requestedBy}, 'expiresAt', ${cc.expiresAt}, 'confirmedAt', ${cc.confirmedAt},
  'createdAt', ${cc.createdAt})`;

/**
 * What events and the start's answer carry: no old or new value (the live stream goes
 * to every `members:read` watcher) and never the token.
 */
export const publicChangeJson = sql<string>`json_object(
  'id', ${cc.id}, 'memberId', ${cc.memberId}, 'kind', ${cc.kind}, 'status', ${cc.status},
  'sentTo', ${cc.sentTo}, 'expiresAt', ${cc.expiresAt})`;

export const parseChange = (json: string) => JSON.parse(json) as CredentialChange;

export function parseStarted(json: string): StartedChange {
  const { id, kind, status, sentTo, expiresAt } = JSON.parse(json) as StartedChange;
  return { id, kind, status, sentTo, expiresAt };
}
