import { MOVED_TABLES, NOT_MOVED } from "./tables";

/** A unique index other than the primary key: its columns, and its WHERE for a partial one (unqualified SQL). */
export type Unique = { name: string; columns: string[]; where: string | null };

/** A moved table as a shard's SQLite has it. */
export type Shape = {
  name: string;
  /** Stored columns, in order (not generated ones: SQLite computes those). */
  columns: string[];
  key: string[];
  uniques: Unique[];
};

export type Shapes = ReadonlyMap<string, Shape>;

/** Why a move cannot start; the platform route answers it 409 (a move of that workspace is not possible now). */
export class MoveRefused extends Error {}

const TABLE_SHAPE = `select
  (select json_group_array(name) from (select name from pragma_table_xinfo(?1) where hidden = 0 order by cid)) as columns,
  (select json_group_array(name) from (select name from pragma_table_info(?1) where pk > 0 order by pk)) as key,
  (select json_group_array(json_object('name', il.name, 'sql', m.sql,
      'columns', (select json_group_array(ii.name) from (select name from pragma_index_info(il.name) order by seqno) as ii)))
    from pragma_index_list(?1) as il left join sqlite_master as m on m.name = il.name
    where il."unique" = 1 and il.origin != 'pk') as uniques`;

type ShapeRow = { columns: string; key: string; uniques: string };

/** The WHERE of a partial index's CREATE statement, its columns unqualified (they are read on other rows too). */
function partialWhere(table: string, sql: string | null): string | null {
  const where = sql ? /\)\s*WHERE\s+([\s\S]+)$/i.exec(sql)?.[1] : undefined;
  if (!where) return null;
  return where.replace(new RegExp(`(["\`]?)${table}\\1\\.`, "g"), "");
}

/**
 * The shapes of the moved tables on a shard, read from SQLite itself (one batch), and the
 * shard's tables that are neither moved nor known not to be.
 */
export async function readShapes(d1: D1Database): Promise<{ shapes: Shapes; unknown: string[] }> {
  const results = await d1.batch<ShapeRow | { name: string }>([
    d1.prepare("select name from sqlite_master where type = 'table'"),
    ...MOVED_TABLES.map((t) => d1.prepare(TABLE_SHAPE).bind(t.name)),
  ]);
  const tables = (results[0]?.results ?? []) as { name: string }[];
  const moved = new Set(MOVED_TABLES.map((t) => t.name));
  const unknown = tables.map((t) => t.name).filter((name) => !moved.has(name) && !NOT_MOVED.has(name));
  const shapes = new Map<string, Shape>();
  MOVED_TABLES.forEach((table, i) => {
    const row = results[i + 1]?.results[0] as ShapeRow | undefined;
    if (!row) return;
    const uniques = (JSON.parse(row.uniques) as { name: string; sql: string | null; columns: (string | null)[] }[]).map(
      (u) => {
        // An index over an expression names no column there: a move could not find its conflicts.
        if (u.columns.some((c) => c === null))
          throw new MoveRefused(`${table.name}: unique index ${u.name} has an expression`);
        return { name: u.name, columns: u.columns as string[], where: partialWhere(table.name, u.sql) };
      },
    );
    uniques.sort((a, b) => (a.name < b.name ? -1 : 1));
    const columns = JSON.parse(row.columns) as string[];
    if (columns.length === 0) return;
    shapes.set(table.name, { name: table.name, columns, key: JSON.parse(row.key) as string[], uniques });
  });
  return { shapes, unknown };
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * The source's shapes, once checked against the target's: a move copies rows as they
 * are, so both shards must have every migration (`npm run db:migrate` applies them to
 * all), and no table of the source may be one the move does not know.
 */
export async function checkedShapes(source: D1Database, target: D1Database): Promise<Shapes> {
  const [from, to] = await Promise.all([readShapes(source), readShapes(target)]);
  if (from.unknown.length > 0) {
    throw new MoveRefused(`the source shard has tables a move does not know: ${from.unknown.join(", ")}`);
  }
  for (const table of MOVED_TABLES) {
    const a = from.shapes.get(table.name);
    const b = to.shapes.get(table.name);
    if (!a || !b) throw new MoveRefused(`${table.name} is missing on the ${a ? "target" : "source"} shard`);
    if (!same(a.key, table.key))
      throw new MoveRefused(`${table.name}: its primary key is not (${table.key.join(", ")})`);
    if (!same(a, b)) throw new MoveRefused(`${table.name} differs between the shards: run the migrations on both`);
  }
  return from.shapes;
}
