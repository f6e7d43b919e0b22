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
