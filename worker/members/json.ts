import { sql } from "drizzle-orm";
import type { Member } from "./schema";
import { members } from "./table";

/**
 * The Member JSON built by SQL (the generated column `members.json`), so responses and
 * events read the row as committed (events are appended with INSERT ... SELECT inside
 * the change's batch).
 */
export const memberJson = sql<string>`${members.json}`;

export const parseMember = (json: string) => JSON.parse(json) as Member;
