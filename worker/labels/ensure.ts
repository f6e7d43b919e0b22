import { type SQL, sql } from "drizzle-orm";
import { now } from "../events/append";
import type { Db } from "../lib/db";
import { labels } from "./table";

export const DEFAULT_COLOR = "#64748b";

/** Turns a name into a label slug: "New Customer" -> "new-customer". */
export function slugify(name: string): string {
  return name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 64)
    .replace(/-+$/, "");
}

/**
 * Creates, within the caller's batch, the labels among `slugs` that do not exist yet,
 * named after their slug. Names are unique too, and DO NOTHING skips a conflict on any
 * unique index: when another label already bears the slug as its name, the new one is
 * named "slug (slug)" so that it is still created. With `when`, only if it holds then
 * (the write they belong to happened).
 */
export function ensureLabels(db: Db, workspaceId: string, slugs: readonly string[], when?: SQL) {
  const at = now();
  return slugs.map((slug) => {
    const nameTaken = sql`exists (select 1 from ${labels} where ${labels.workspaceId} = ${workspaceId} and ${labels.name} = ${slug})`;
    const name = sql`case when ${nameTaken} then ${`${slug} (${slug})`} else ${slug} end`;
    if (when) {
      // Columns in the table's order: workspace_id, slug, name, color, description, created_at.
      return db
        .insert(labels)
        .select(sql`select ${workspaceId}, ${slug}, ${name}, ${DEFAULT_COLOR}, null, ${at} where ${when}`)
        .onConflictDoNothing();
    }
    return db
      .insert(labels)
      .values({ workspaceId, slug, name, color: DEFAULT_COLOR, createdAt: at })
      .onConflictDoNothing();
  });
}
