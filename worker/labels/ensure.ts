import { type SQL, sql } from "drizzle-orm";
import { currentActorJson } from "../events/acting";
import { appendEvent, now } from "../events/append";
import { events } from "../events/table";
import type { Db } from "../lib/db";
import { guardLabelsLive } from "./guard";
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
 * (the write they belong to happened). A write naming a label being deleted fails whole
 * (./guard.ts).
 */
export function ensureLabels(db: Db, workspaceId: string, slugs: readonly string[], when?: SQL) {
  const at = now();
  const created = slugs.flatMap((slug) => {
    const nameTaken = sql`exists (select 1 from ${labels} where ${labels.workspaceId} = ${workspaceId} and ${labels.name} = ${slug})`;
    const name = sql`case when ${nameTaken} then ${`${slug} (${slug})`} else ${slug} end`;
    // Columns in the table's order: workspace_id, slug, name, color, description, created_at, deleting_since.
    const insert = when
      ? db
          .insert(labels)
          .select(sql`select ${workspaceId}, ${slug}, ${name}, ${DEFAULT_COLOR}, null, ${at}, null where ${when}`)
          .onConflictDoNothing()
      : db
          .insert(labels)
          .values({ workspaceId, slug, name, color: DEFAULT_COLOR, createdAt: at })
          .onConflictDoNothing();
    return [insert, labelCreated(db, workspaceId, slug)] as const;
  });
  // A label being deleted is not named back: the write is refused (409 label_deleting).
  return [...created, ...guardLabelsLive(db, workspaceId, slugs, when)];
}

/** The label's JSON as `GET /v1/labels` shows it, built by SQL from the `labels` row. */
export const labelJson = sql`json_object('slug', ${labels.slug}, 'name', ${labels.name}, 'color', ${labels.color},
  'description', ${labels.description}, 'createdAt', ${labels.createdAt})`;

/**
 * `label.created` for a label the statement just before created (none when it already
 * existed), so admin views learn of labels that member writes create by naming them.
 */
function labelCreated(db: Db, workspaceId: string, slug: string) {
  return appendEvent(db, workspaceId, "label.created", sql`json_object('label', ${labelJson})`, {
    from: sql`${labels} where ${labels.workspaceId} = ${workspaceId} and ${labels.slug} = ${slug}`,
    onlyIfChanged: true,
  });
}

/**
 * `label.created` for each of `slugs` (a JSON array) that the statement after it creates,
 * for a set-based write (an import chunk): appended before the insert, for the slugs no
 * label holds yet, with the name that insert gives (as in `ensureLabels`).
 */
export function labelsCreatedBefore(workspaceId: string, slugs: string, at: string) {
  const nameTaken = sql`exists (select 1 from ${labels} where ${labels.workspaceId} = ${workspaceId} and ${labels.name} = s.value)`;
  const head = sql`(select coalesce(max(${events.seq}), 0) from ${events} where ${events.workspaceId} = ${workspaceId})`;
  return sql`insert into ${events} (workspace_id, seq, type, at, actor, data)
    select ${workspaceId}, ${head} + row_number() over (order by s.key), 'label.created', ${at}, ${currentActorJson()},
      json_object('label', json_object('slug', s.value,
        'name', case when ${nameTaken} then s.value || ' (' || s.value || ')' else s.value end,
        'color', ${DEFAULT_COLOR}, 'description', null, 'createdAt', ${at}))
    from json_each(${slugs}) as s
    where not exists (select 1 from ${labels} where ${labels.workspaceId} = ${workspaceId} and ${labels.slug} = s.value)
    order by s.key`;
}
