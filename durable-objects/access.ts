import { type Compiled, celPerson, compile, evaluate, type MemberLike } from "../worker/access/cel";
import { grants, narrow, type Scope } from "../worker/roles/scopes";
import type { Watcher } from "./workspace-live";

/**
 * Whether a watcher may still watch: an active team member whose role (narrowed by the
 * key's scopes) grants members:read. Returns their current role key, or null.
 */
export async function stillMayWatch(
  db: D1Database,
  workspaceId: string,
  watcher: Readonly<Pick<Watcher, "memberId" | "keyId" | "scopes">>,
): Promise<string | null> {
  const row = await db
    .prepare(
      `select m.role as role, m.status as status, m.type as type, r.scopes as scopes
       from members m join roles r on r.workspace_id = m.workspace_id and r.key = m.role
       where m.workspace_id = ? and m.id = ?`,
    )
    .bind(workspaceId, watcher.memberId)
    .first<{ role: string; status: string; type: string; scopes: string }>();
  if (row?.status !== "active" || row.type !== "team") return null;
  if (watcher.keyId) {
    const key = await db
      .prepare("select revoked_at from api_keys where id = ? and workspace_id = ?")
      .bind(watcher.keyId, workspaceId)
      .first<{ revoked_at: string | null }>();
    if (!key || key.revoked_at) return null;
  }
  const roleScopes = JSON.parse(row.scopes) as Scope[];
  const scopes = watcher.scopes ? narrow(roleScopes, watcher.scopes as readonly Scope[]) : roleScopes;
  return grants(scopes, "members:read") ? row.role : null;
}

/**
 * What a watcher's role condition needs to judge each member event (worker/access): the
 * condition and the watcher as `actor`; null when the role has none.
 */
export async function conditionContext(
  db: D1Database,
  workspaceId: string,
  memberId: string,
): Promise<Pick<Watcher, "condition" | "actor">> {
  const row = await db
    .prepare(
      `select m.id as id, m.name as name, m.email as email, m.phone as phone, m.external_id as externalId,
         m.labels as labels, m.status as status, m.role as role, r.condition as condition
       from members m join roles r on r.workspace_id = m.workspace_id and r.key = m.role
       where m.workspace_id = ? and m.id = ?`,
    )
    .bind(workspaceId, memberId)
    .first<MemberLike & { labels: string; condition: string | null }>();
  if (!row?.condition) return { condition: null, actor: null };
  return { condition: row.condition, actor: celPerson({ ...row, labels: JSON.parse(row.labels) as string[] }) };
}

/** Whether a watcher whose role has a condition may see every member an event is about. */
export function mayWatchMembers(watcher: Pick<Watcher, "condition" | "actor">, subjects: readonly MemberLike[]) {
  if (!watcher.condition || subjects.length === 0) return true;
  let compiled: Compiled;
  try {
    compiled = compile(watcher.condition, "role");
  } catch {
    return false;
  }
  return subjects.every((member) => evaluate(compiled, { member: celPerson(member), actor: watcher.actor }));
}

/** The members an event is about: its `member`, and the one a merge went `into`. */
export function subjectsOf(data: string): MemberLike[] {
  const parsed = JSON.parse(data) as { member?: unknown; into?: unknown };
  return [parsed.member, parsed.into].filter(
    (m): m is MemberLike => !!m && typeof m === "object" && typeof (m as { id?: unknown }).id === "string",
  );
}
