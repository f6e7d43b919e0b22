import { sql } from "drizzle-orm";
import type * as v from "valibot";
import type { JoinRequestJson } from "./schema";
import { joinRequests } from "./table";

/** Join request JSON built by SQL, so responses and events read the row as committed. */
export const joinRequestJson = sql<string>`json_object(
  'id', ${joinRequests.id}, 'name', ${joinRequests.name}, 'email', ${joinRequests.email},
  'phone', ${joinRequests.phone}, 'message', ${joinRequests.message}, 'status', ${joinRequests.status},
  'invitationId', ${joinRequests.invitationId}, 'decidedBy', ${joinRequests.decidedBy},
  'decidedAt', ${joinRequests.decidedAt}, 'createdAt', ${joinRequests.createdAt}, 'updatedAt', ${joinRequests.updatedAt})`;

export const eventData = sql`json_object('joinRequest', json(${joinRequestJson}))`;
export const fromJoinRequest = (id: string) => sql`${joinRequests} where ${joinRequests.id} = ${id}`;

export const parseJoinRequest = (json: string) => JSON.parse(json) as v.InferOutput<typeof JoinRequestJson>;
