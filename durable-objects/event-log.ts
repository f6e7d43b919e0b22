import type { D1Queries } from "../worker/lib/db";

/** Reads of the workspace event log (the `events` table in D1) for the live stream. */
/** `data` and `actor` are JSON text, as D1 holds them. */
export type EventRow = { seq: number; type: string; at: string; data: string; actor: string };

export async function readEvents(db: D1Queries, workspaceId: string, after: number, limit: number) {
  const { results } = await db
    .prepare("select seq, type, at, data, actor from events where workspace_id = ? and seq > ? order by seq limit ?")
    .bind(workspaceId, after, limit)
    .all<EventRow>();
  return results;
}

export async function workspaceHead(db: D1Queries, workspaceId: string): Promise<number> {
  const row = await db
    .prepare("select coalesce(max(seq), 0) as head from events where workspace_id = ?")
    .bind(workspaceId)
    .first<{ head: number }>();
  return row?.head ?? 0;
}

/**
 * The log's head, and whether the workspace has any action that runs (worker/actions; a
 * paused one never runs again): what a poke with no socket open needs, in one query.
 */
export async function headAndActions(db: D1Queries, workspaceId: string) {
  const row = await db
    .prepare(
      `select (select coalesce(max(seq), 0) from events where workspace_id = ?1) as head,
         exists (select 1 from actions where workspace_id = ?1 and paused_at is null) as hasActions`,
    )
    .bind(workspaceId)
    .first<{ head: number; hasActions: number }>();
  return { head: row?.head ?? 0, hasActions: row?.hasActions === 1 };
}
