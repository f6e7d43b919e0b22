import { sql } from "drizzle-orm";
import type { Member } from "./schema";
import { members } from "./table";

/**
 * The Member JSON built by SQL (the generated column `members.json`), so responses and
 * events read the row as committed (events are appended with INSERT ... SELECT inside
 * the change's batch). `attributes` is set on it here: the generated column predates it,
 * and SQLite cannot alter a generated column without rebuilding the table.
 */
export const memberJson = sql<string>`json_set(${members.json}, '$.attributes', json(coalesce(${members.attributes}, '{}')))`;

/** Index rows of the layout before issue 19 (worker/members/legacy) copied a JSON without attributes. */
export function parseMember(json: string): Member {
  const member = JSON.parse(json) as Member;
  member.attributes ??= {};
  return member;
}
