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

/** Creates, within the caller's batch, the labels among `slugs` that do not exist yet. */
export function ensureLabels(db: Db, workspaceId: string, slugs: readonly string[]) {
  const at = now();
  return slugs.map((slug) =>
    db
      .insert(labels)
      .values({ workspaceId, slug, name: slug, color: DEFAULT_COLOR, createdAt: at })
      .onConflictDoNothing(),
  );
}
