import type { Shape } from "./shape";
import type { MovedTable } from "./tables";

/**
 * The statements of a move (./engine.ts). Rows travel between shards as JSON text that
 * SQLite writes (`json_array` of a row's columns, so each value keeps its SQLite type)
 * and reads back (`value ->> i` over `json_each` of one bound parameter, as D1 binds at
 * most 100 values a statement).
 */

const id = (name: string) => `"${name.replaceAll('"', '""')}"`;
const list = (columns: readonly string[], prefix = "") => columns.map((c) => `${prefix}${id(c)}`).join(", ");
/** `value ->> 0, value ->> 1, ...` for the positions of `columns` in `all`. */
const fromJson = (all: readonly string[], columns: readonly string[]) =>
  columns.map((c) => `value ->> ${all.indexOf(c)}`).join(", ");
const params = (from: number, count: number) => Array.from({ length: count }, (_, i) => `?${from + i}`).join(", ");

/**
 * Where a copy or a deletion stands in a table: after the row with these `order` values;
 * for a child table, in the children of the parent row `parent` (`after` null: all of
 * them done). Null: at the start.
 */
export type Position = { parent?: string; after: unknown[] | null } | null;

/** What a scan reads: each row's columns (to copy it) or its key (to delete it). */
export type ScanWhat = "row" | "key";

export type Scan = { statements: D1PreparedStatement[]; next: (results: D1Result<ScanRow>[], n: number) => Scanned };
export type ScanRow = { r: string; k: string; parents?: number; last?: string | null };
export type Scanned = { rows: string[]; next: Position; done: boolean };

/**
 * The next `n` rows of the workspace in `table` after `position`, in the table's keyset
 * order: one index range read (a child table: the rest of its current parent's children,
 * then the children of the next parents, at most `n` of them, found by the parent's index).
 */
export function scan(
  d1: D1Database,
  table: MovedTable,
  shape: Shape,
  ws: string,
  position: Position,
  n: number,
  what: ScanWhat,
): Scan {
  const args = {
    d1,
    table,
    select: `json_array(${list(what === "row" ? shape.columns : shape.key)})`,
    ws,
    position,
    n,
  };
  return table.parent ? scanChildren(args) : scanDirect(args);
}

type ScanArgs = { d1: D1Database; table: MovedTable; select: string; ws: string; position: Position; n: number };

function scanDirect({ d1, table, select, ws, position, n }: ScanArgs): Scan {
  const order = table.order;
  const after = position?.after;
  const values: unknown[] = [ws];
  let where = `${id(table.workspace ?? "")} = ?1`;
  if (after && order.length > 0) {
    where += ` and (${list(order)}) > (${params(2, order.length)})`;
    values.push(...after);
  }
  const orderBy = order.length > 0 ? ` order by ${list(order)}` : "";
  const statement = d1
    .prepare(
      `select ${select} as r, json_array(${list(order)}) as k from ${id(table.name)} where ${where}${orderBy} limit ?${values.length + 1}`,
    )
    .bind(...values, n);
  return {
    statements: [statement],
    next: ([result], limit) => {
      const rows = result?.results ?? [];
      const last = rows.at(-1);
      // A table with one row per workspace (no order) is read at once.
      if (rows.length < limit || order.length === 0 || !last)
        return { rows: rows.map((r) => r.r), next: null, done: true };
      return { rows: rows.map((r) => r.r), next: { after: JSON.parse(last.k) as unknown[] }, done: false };
    },
  };
}

function scanChildren({ d1, table, select, ws, position, n }: ScanArgs): Scan {
  const parent = table.parent;
  if (!parent) throw new Error(`${table.name} has no parent`);
  const via = id(parent.via);
  const order = list(table.order);
  const key = `json_array(${via}, ${order})`;
  const statements: D1PreparedStatement[] = [];
  const afterParent = position?.parent !== undefined ? " and id > ?2" : "";
  const parentValues = position?.parent !== undefined ? [ws, position.parent] : [ws];
  const parents = `select id from ${id(parent.table)} where workspace_id = ?1${afterParent} order by id limit ?${parentValues.length + 1}`;
  // The rest of the current parent's children.
  const after = position?.after;
  if (position?.parent !== undefined && after) {
    statements.push(
      d1
        .prepare(
          `select ${select} as r, ${key} as k from ${id(table.name)} where ${via} = ?1 and (${order}) > (${params(2, table.order.length)})
           order by ${order} limit ?${table.order.length + 2}`,
        )
        .bind(position.parent, ...after, n),
    );
  }
  // The children of the next `n` parents (the IN list is walked in order, so no sort), and how far those parents go.
  statements.push(
    d1
      .prepare(
        `select ${select} as r, ${key} as k from ${id(table.name)} where ${via} in (${parents}) order by ${via}, ${order} limit ?${parentValues.length + 1}`,
      )
      .bind(...parentValues, n),
    d1.prepare(`select count(*) as parents, max(id) as last from (${parents})`).bind(...parentValues, n),
  );
  return {
    statements,
    next: (results, limit) => {
      const bound = results.at(-1)?.results[0];
      const rows = results
        .slice(0, -1)
        .flatMap((r) => r.results)
        .slice(0, limit);
      const last = rows.at(-1);
      if (rows.length >= limit && last) {
        const [lastParent, ...lastAfter] = JSON.parse(last.k) as [string, ...unknown[]];
        return { rows: rows.map((r) => r.r), next: { parent: lastParent, after: lastAfter }, done: false };
      }
      // Every child of the parents read is in `rows`.
      if (!bound || (bound.parents ?? 0) < n || !bound.last)
        return { rows: rows.map((r) => r.r), next: null, done: true };
      return { rows: rows.map((r) => r.r), next: { parent: bound.last, after: null }, done: false };
    },
  };
}

/** The rows of `table` with these keys (JSON arrays, as `move_changes.key` holds them), each with its key. */
export function readByKeys(d1: D1Database, shape: Shape, keys: string): D1PreparedStatement {
  return d1
    .prepare(
      `select json_array(${list(shape.columns)}) as r, json_array(${list(shape.key)}) as k from ${id(shape.name)}
       where (${list(shape.key)}) in (select ${fromJson(shape.key, shape.key)} from json_each(?1))`,
    )
    .bind(keys);
}

/** Deletes the rows of `table` with these keys (a JSON array of key arrays). */
export function deleteKeys(d1: D1Database, shape: Shape, keys: string): D1PreparedStatement {
  return d1
    .prepare(
      `delete from ${id(shape.name)} where (${list(shape.key)}) in (select ${fromJson(shape.key, shape.key)} from json_each(?1))`,
    )
    .bind(keys);
}

/** The rows of the JSON parameter ?1 as a table with the columns of `shape`, named as its columns. */
const incomingRows = (shape: Shape) =>
  `(select ${shape.columns.map((c, i) => `value ->> ${i} as ${id(c)}`).join(", ")} from json_each(?1))`;

/** SQL true for a row of `table` (named as the table) that belongs to the workspace ?2. */
function ofWorkspace(table: MovedTable): string {
  if (table.workspace) return `${id(table.name)}.${id(table.workspace)} = ?2`;
  if (!table.parent) throw new Error(`${table.name} names neither its workspace nor its parent`);
  return `${id(table.name)}.${id(table.parent.via)} in (select id from ${id(table.parent.table)} where workspace_id = ?2)`;
}

/**
 * Before rows (a JSON array of row arrays) are upserted into the target: deletes the
 * target's rows of the workspace that hold a unique value one of them holds under another
 * key. Such a row is stale (the source cannot hold the value twice), its change is in
 * `move_changes` still, and its drain writes it back as the source has it; without this,
 * two members who swapped emails would stop the upsert of either.
 */
export function clearConflicts(
  d1: D1Database,
  table: MovedTable,
  shape: Shape,
  rows: string,
  ws: string,
): D1PreparedStatement[] {
  const name = id(shape.name);
  const incoming = incomingRows(shape);
  return shape.uniques.map((unique) => {
    const same = unique.columns.map((c) => `i.${id(c)} = ${name}.${id(c)}`).join(" and ");
    const sameKey = shape.key.map((c) => `i.${id(c)} = ${name}.${id(c)}`).join(" and ");
    const partial = unique.where ? ` and (${unique.where})` : "";
    return d1
      .prepare(
        `delete from ${name} where (${list(unique.columns)}) in (select ${fromJson(shape.columns, unique.columns)} from json_each(?1))${partial}
           and ${ofWorkspace(table)}
           and exists (select 1 from ${incoming} as i where ${same} and not (${sameKey})${partial})`,
      )
      .bind(rows, ws);
  });
}

/**
 * Writes rows (a JSON array of row arrays) into the target: updates the rows of their
 * keys, then inserts the others. Two statements, not one `insert ... on conflict do
 * update`: SQLite runs the statements of the triggers an upsert's update fires under the
 * upsert's own conflict policy (ABORT), which overrides the `insert or ignore` of the
 * members' index triggers, so an update that keeps a search term would fail. Never
 * REPLACE either, which deletes a conflicting row without its delete triggers.
 */
export function upsert(d1: D1Database, shape: Shape, rows: string): D1PreparedStatement[] {
  const name = id(shape.name);
  const rest = shape.columns.filter((c) => !shape.key.includes(c));
  const insert = d1
    .prepare(
      `insert into ${name} (${list(shape.columns)}) select ${fromJson(shape.columns, shape.columns)} from json_each(?1) where true
       on conflict (${list(shape.key)}) do nothing`,
    )
    .bind(rows);
  if (rest.length === 0) return [insert];
  const update = d1
    .prepare(
      `update ${name} set ${rest.map((c) => `${id(c)} = i.${id(c)}`).join(", ")} from ${incomingRows(shape)} as i
       where ${shape.key.map((c) => `${name}.${id(c)} = i.${id(c)}`).join(" and ")}`,
    )
    .bind(rows);
  return [update, insert];
}

/** JSON arrays of at most about `maxChars` characters each, from JSON texts. */
export function jsonChunks(items: readonly string[], maxChars: number): string[] {
  const chunks: string[] = [];
  let current: string[] = [];
  let size = 0;
  for (const item of items) {
    if (current.length > 0 && size + item.length > maxChars) {
      chunks.push(`[${current.join(",")}]`);
      current = [];
      size = 0;
    }
    current.push(item);
    size += item.length + 1;
  }
  if (current.length > 0) chunks.push(`[${current.join(",")}]`);
  return chunks;
}
