import { issueApiKey } from "../worker/api-keys/issue";
import { database } from "../worker/lib/db";
import { ALL_SCOPES, type Scope } from "../worker/roles/scopes";
import { shardDb } from "./db";

/**
 * Mints an API key for any member, as sign-in would give them a credential. The API
 * only lets callers mint keys for themselves, and other members cannot sign in yet.
 */
export async function mintKeyFor(workspaceId: string, memberId: string, scopes?: string[]) {
  const db = database(await shardDb(workspaceId));
  const issued = await issueApiKey(db, {
    workspaceId,
    memberId,
    name: "test",
    scopes: (scopes ?? ALL_SCOPES) as Scope[],
    expiresInDays: 1,
  });
  await db.batch(issued.statements);
  return issued.key;
}
