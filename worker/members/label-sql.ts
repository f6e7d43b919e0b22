import { sql } from "drizzle-orm";
import { members } from "./table";

/**
 * SQL over `members.labels` for label changes made inside a batch (member writes, label
 * deletion, actions), so racing changes compose: each reads the row as it is then.
 * `added` and `removed` are JSON arrays of slugs.
 */

/** The member's labels with `added`, as a set. */
export const labelsWith = (added: string) => sql`(select json_group_array(value) from (
  select value from json_each(${members.labels}) union select value from json_each(${added})))`;

/** Whether the member lacks one of `added` (so adding them changes something). */
export const lacksSomeOf = (added: string) => sql`exists (select 1 from json_each(${added}) as a
  where a.value not in (select value from json_each(${members.labels})))`;

/** The member's labels without `slug`, in their order. */
export const labelsWithout = (slug: string) =>
  sql`(select json_group_array(value) from json_each(${members.labels}) where value != ${slug})`;
