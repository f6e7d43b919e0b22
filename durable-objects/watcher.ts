import { type CelPerson, celPerson, evaluate, type MemberLike } from "../worker/cel/cel";
import type { D1Queries } from "../worker/lib/db";
import { savedRoleCondition } from "../worker/reach/to-sql";
import { grants, narrow, type Scope } from "../worker/roles/scopes";
import type { Watcher } from "./workspace-live";

/**
 * What a watcher may watch now: its role, the scopes it holds (the role's, narrowed by the
 * key's) and so whether it holds members:admin, the role's CEL condition with the watcher
 * as `actor`, and when its credential expires.
 */
export type WatcherNow = Pick<
  Watcher,
  "role" | "granted" | "seesAnonymous" | "condition" | "actor" | "credentialExpiresAt"
>;

type Row = MemberLike & {
  labels: string;
  type: string;
  role: string;
  scopes: string;
  condition: string | null;
  keyScopes: string | null;
  keyExpiresAt: string | null;
  sessionExpiresAt: string | null;
};

/**
 * Whether a watcher may still watch: an active team member whose role (narrowed by its
 * key's scopes, if any) grants members:read, through a credential still live: its API key neither
 * revoked nor expired, or its session neither ended (logout, archiving) nor expired. A
 * watcher that names neither (a socket opened before sockets recorded their session) may
 * not. One query reads that and what the role's condition needs. Null when the watcher may
 * no longer watch.
 */
export async function watcherNow(
  db: D1Queries,
  workspaceId: string,
  watcher: Readonly<Pick<Watcher, "memberId" | "keyId" | "sessionId">>,
): Promise<WatcherNow | null> {
  const row = await db
    .prepare(
      `select m.id as id, m.name as name, m.email as email, m.phone as phone, m.external_id as externalId,
         m.labels as labels, m.status as status, r.type as type, m.role as role, r.scopes as scopes,
         r.condition as condition, k.scopes as keyScopes, k.expires_at as keyExpiresAt,
         s.expires_at as sessionExpiresAt
       from members m join roles r on r.workspace_id = m.workspace_id and r.key = m.role
         left join api_keys k on k.id = ?3 and k.workspace_id = m.workspace_id and k.member_id = m.id
           and k.revoked_at is null
         left join sessions s on s.id = ?4 and s.workspace_id = m.workspace_id and s.member_id = m.id
           and s.ended_at is null
       where m.workspace_id = ?1 and m.id = ?2`,
    )
    .bind(workspaceId, watcher.memberId, watcher.keyId ?? "", watcher.sessionId ?? "")
    .first<Row>();
  if (row?.status !== "active" || row.type !== "team") return null;
  const credentialExpiresAt = expiryOf(watcher, row);
  if (credentialExpiresAt === null || credentialExpiresAt <= Date.now()) return null;
  const roleScopes = JSON.parse(row.scopes) as Scope[];
  // The key's scopes as stored, not as they were at the upgrade: a role that gains a scope
  // widens its keys' sockets as it widens their requests.
  const granted = watcher.keyId ? narrow(roleScopes, JSON.parse(row.keyScopes ?? "[]") as Scope[]) : roleScopes;
  if (!grants(granted, "members:read")) return null;
  const seesAnonymous = grants(granted, "members:admin");
  const access = { role: row.role, granted, seesAnonymous, credentialExpiresAt };
  if (!row.condition) return { ...access, condition: null, actor: null };
  return {
    ...access,
    condition: row.condition,
    actor: celPerson({ ...row, labels: JSON.parse(row.labels) as string[] }),
  };
}

/** When the watcher's credential expires (ms), or null when it has none that is live: no such key or session, revoked or ended. */
function expiryOf(watcher: Pick<Watcher, "keyId" | "sessionId">, row: Row): number | null {
  const live = watcher.keyId ? row.keyExpiresAt : watcher.sessionId ? row.sessionExpiresAt : null;
  const at = live === null ? Number.NaN : Date.parse(live);
  return Number.isFinite(at) ? at : null;
}

/** Whether a watcher's role condition (if any) holds for a member; a condition that no longer passes the checks at save holds for nobody. */
export function watcherReaches(watcher: Pick<Watcher, "condition" | "actor">, member: MemberLike): boolean {
  if (!watcher.condition) return true;
  const compiled = savedRoleCondition(watcher.condition);
  if (!compiled) return false;
  const person = celPerson(member);
  // About the watcher themself: the event's picture of them is the actor's too.
  const actor = watcher.actor && person.id === watcher.actor.id ? person : watcher.actor;
  return evaluate(compiled, { member: person, actor: actor as CelPerson });
}
