import { sql } from "drizzle-orm";
import type { Member } from "./schema";
import { members } from "./table";

/**
 * The Member JSON built by SQL, so responses and events read the row as committed
 * (events are appended with INSERT ... SELECT inside the change's batch).
 */
export const memberJson = sql<string>`json_object(
  'id', ${members.id}, 'name', ${members.name}, 'email', ${members.email}, 'phone', ${members.phone},
  'role', ${members.role}, 'type', ${members.type}, 'externalId', ${members.externalId},
  'description', ${members.description}, 'labels', json(${members.labels}), 'status', ${members.status},
  'createdAt', ${members.createdAt}, 'updatedAt', ${members.updatedAt})`;

export const parseMember = (json: string) => JSON.parse(json) as Member;
