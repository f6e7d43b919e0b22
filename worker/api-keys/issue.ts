import { sql } from "drizzle-orm";
import { appendEvent, now } from "../events/append";
import { sha256Hex } from "../lib/crypto";
import type { Db } from "../lib/db";
import { newId } from "../lib/ids";
import { memberJson } from "../members/json";
import { members } from "../members/table";
import type { Scope } from "../roles/scopes";
import { TOKEN_PREFIX } from "../sessions/tokens";
import { routedToken } from "../shards/tokens";
import { apiKeys } from "./table";

const DAY_MS = 86_400_000;

/**
 * The statements that store a new key (only its hash) and announce it (never the key),
 * for the caller's batch, and the key to show once.
 */
export async function issueApiKey(
  db: Db,
  args: { workspaceId: string; memberId: string; name: string; scopes: Scope[]; expiresInDays: number },
) {
  const key = routedToken(TOKEN_PREFIX.apiKey, args.workspaceId);
  const createdAt = now();
  const json = {
    id: newId("key"),
    name: args.name,
    memberId: args.memberId,
    scopes: args.scopes,
    expiresAt: new Date(Date.now() + args.expiresInDays * DAY_MS).toISOString(),
    createdAt,
  };
  const statements = [
    db.insert(apiKeys).values({ ...json, workspaceId: args.workspaceId, keyHash: await sha256Hex(key) }),
    // With its member as committed (an earlier statement of the batch may add them): the live
    // stream judges by it whom a role condition lets see the event.
    appendEvent(
      db,
      args.workspaceId,
      "api_key.created",
      sql`json_object('apiKey', json(${JSON.stringify(json)}), 'member', json(${memberJson}))`,
      {
        from: sql`${members} where ${members.id} = ${args.memberId}`,
      },
    ),
  ] as const;
  return { key, json, statements };
}
