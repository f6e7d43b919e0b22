import { and, eq, type SQL, sql } from "drizzle-orm";
import type { Db } from "../lib/db";
import { roleOfMember } from "../members/role-of";
import { conditionRefusal } from "../members/rules";
import { members } from "../members/table";
import { grants, narrow, type Scope } from "../roles/scopes";
import { roles } from "../roles/table";
import type { RoleInfo } from "./resolve";
import type { ImportRow } from "./table";

/** What an import may still do for its importer, as a chunk finds them. */
export type Importer = {
  /** The upload's scopes (the role's, narrowed by the key's), less what the role no longer grants. */
  scopes: Scope[];
  /** Their role's condition now (worker/reach). */
  condition: string | null;
  /** updatedAt of the member and of their role as read: the chunk's batch requires both unchanged. */
  seen: { member: string; role: string };
};

/** The importer's member row and role now, as `checkImporter` judges them. */
export async function readImporter(db: Db, job: ImportRow) {
  const [row] = await db
    .select({
      status: members.status,
      role: members.role,
      updatedAt: members.updatedAt,
      scopes: roles.scopes,
      condition: roles.condition,
      roleUpdatedAt: roles.updatedAt,
    })
    .from(members)
    .innerJoin(roles, roleOfMember)
    .where(and(eq(members.workspaceId, job.workspaceId), eq(members.id, job.createdBy)));
  return row;
}

/**
 * What the import may still do for its importer, or why it must stop. An import keeps the
 * scopes its importer had at upload, never more: each chunk checks that they are still
 * active, still hold members:write, and may still assign the import's role (the role rule
 * of worker/members/rules.ts `assignableRole`), so an importer archived or demoted
 * meanwhile does not go on writing members. A role deleted meanwhile fails its rows
 * instead (./resolve.ts).
 */
export function checkImporter(
  job: ImportRow,
  row: Awaited<ReturnType<typeof readImporter>>,
  workspaceRoles: ReadonlyMap<string, RoleInfo>,
): Importer | { refusal: string } {
  const stop = (reason: string) => ({
    refusal: `Stopped after ${job.processed} rows (those stay imported): ${reason}`,
  });
  if (!row) return stop("the importer is no longer a member of this workspace.");
  if (row.status !== "active") {
    return stop(
      row.status === "archived" ? "the importer was archived." : `the importer is ${row.status}, not active.`,
    );
  }
  const scopes = narrow(job.callerScopes, row.scopes);
  if (!grants(scopes, "members:write")) {
    return stop(`the importer's role "${row.role}" no longer grants members:write.`);
  }
  const assigned = workspaceRoles.get(job.role);
  const missing = assigned?.scopes.filter((s) => !grants(scopes, s)) ?? [];
  if (missing.length > 0) {
    return stop(
      `the importer may no longer assign the import's role "${job.role}", which needs ${missing.join(", ")}.`,
    );
  }
  if (assigned && conditionRefusal(row.condition, { key: assigned.key, condition: assigned.condition ?? null })) {
    return stop(
      `the importer's role now has a condition, and the import's role "${job.role}" does not carry the same one.`,
    );
  }
  return { scopes, condition: row.condition, seen: { member: row.updatedAt, role: row.roleUpdatedAt } };
}

/**
 * SQL for the chunk's batch: 1 when the importer or their role changed since
 * `checkImporter` read them, else 0. Counted as stale, it makes the batch fail and the
 * chunk check the importer again, so a demotion that lands while the chunk is on its
 * way stops it rather than letting it write under the scopes just taken away.
 */
export function importerChanged(job: ImportRow, seen: Importer["seen"]): SQL {
  return sql`(not exists (select 1 from ${members}
    join ${roles} on ${roleOfMember}
    where ${members.workspaceId} = ${job.workspaceId} and ${members.id} = ${job.createdBy}
      and ${members.updatedAt} = ${seen.member} and ${roles.updatedAt} = ${seen.role}))`;
}
