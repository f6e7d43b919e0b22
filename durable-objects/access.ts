import { type CelPerson, celPerson, evaluate, type MemberLike } from "../worker/access/cel";
import { savedRoleCondition } from "../worker/access/to-sql";
import { grants, narrow, type Scope } from "../worker/roles/scopes";
import type { Watcher } from "./workspace-live";

/**
 * What a watcher may watch now: its role, whether it holds members:admin, and the role's
 * CEL condition with the watcher as `actor` (worker/access).
 */
export type WatcherAccess = Pick<Watcher, "role" | "seesAnonymous" | "condition" | "actor">;

type Row = MemberLike & {
  labels: string;
  type: string;
  role: string;
  scopes: string;
  condition: string | null;
  keyRevoked: number | null;
};

/**
 * Whether a watcher may still watch: an active team member whose role (narrowed by the
 * key's scopes) grants members:read, with its key (if any) not revoked; and whether those
 * scopes grant members:admin too. One query reads
 * that and what the role's condition needs. Null when the watcher may no longer watch.
 */
export async function watcherAccess(
  db: D1Database,
  workspaceId: string,
  watcher: Readonly<Pick<Watcher, "memberId" | "keyId" | "scopes">>,
): Promise<WatcherAccess | null> {
  const row = await db
    .prepare(
      `select m.id as id, m.name as name, m.email as email, m.phone as phone, m.external_id as externalId,
         m.labels as labels, m.status as status, r.type as type, m.role as role, r.scopes as scopes,
         r.condition as condition,
         (select k.revoked_at is not null from api_keys k where k.id = ?3 and k.workspace_id = m.workspace_id) as keyRevoked
       from members m join roles r on r.workspace_id = m.workspace_id and r.key = m.role
       where m.workspace_id = ?1 and m.id = ?2`,
    )
    .bind(workspaceId, watcher.memberId, watcher.keyId ?? "")
    .first<Row>();
  if (row?.status !== "active" || row.type !== "team") return null;
  // No such key (null) or a revoked one (1) ends a key's socket.
  if (watcher.keyId && row.keyRevoked !== 0) return null;
  const roleScopes = JSON.parse(row.scopes) as Scope[];
  const scopes = watcher.scopes ? narrow(roleScopes, watcher.scopes as readonly Scope[]) : roleScopes;
  if (!grants(scopes, "members:read")) return null;
  const seesAnonymous = grants(scopes, "members:admin");
  if (!row.condition) return { role: row.role, seesAnonymous, condition: null, actor: null };
  return {
    role: row.role,
    seesAnonymous,
    condition: row.condition,
    actor: celPerson({ ...row, labels: JSON.parse(row.labels) as string[] }),
  };
}

/** Whether a watcher's role condition (if any) holds for a member; a condition that no longer passes the checks at save holds for nobody. */
export function watcherSees(watcher: Pick<Watcher, "condition" | "actor">, member: MemberLike): boolean {
  if (!watcher.condition) return true;
  const compiled = savedRoleCondition(watcher.condition);
  if (!compiled) return false;
  const person = celPerson(member);
  // About the watcher themself: the event's picture of them is the actor's too.
  const actor = watcher.actor && person.id === watcher.actor.id ? person : watcher.actor;
  return evaluate(compiled, { member: person, actor: actor as CelPerson });
}
