import { fillPlaceholders, type Query, type SQL, sql } from "drizzle-orm";
import { type DrizzleD1Database, drizzle } from "drizzle-orm/d1";
import { SQLiteAsyncDialect } from "drizzle-orm/sqlite-core";
import { recordD1Meta } from "./d1-metrics";

const casing = "snake_case";

/**
 * What queries need of D1: a binding has it, and so has a session of one
 * (`withSession`, ./d1-sessions.ts), which has no exec() or dump().
 */
export type D1Queries = Pick<D1Database, "prepare" | "batch">;

/** drizzle over D1; `$client` is the (metered) binding or session it queries. */
export type Db = DrizzleD1Database & { $client: D1Queries };

/**
 * No `schema`: nothing uses drizzle's relational queries (`db.query`), and queries name
 * the feature's own table objects, so plumbing needs no list of every feature's tables
 * (drizzle-kit finds them by drizzle.config.ts's glob). drizzle calls only prepare() and
 * batch() on its client, so a session serves as well as a binding.
 */
const open = (d1: D1Queries): Db => drizzle(metered(d1) as D1Database, { casing });

/**
 * One drizzle instance per D1 binding: drizzle() walked the whole schema each time it was
 * called when it was given one (measured: 1.7 s of workerd's CPU in a 100,000-row import,
 * one call per chunk and per request). The metering finds its request through
 * AsyncLocalStorage, so one instance serves them all.
 */
const instances = new WeakMap<D1Database, Db>();

/**
 * The binding itself: D1 runs every query of a binding on the primary (only a session may
 * read a replica: https://developers.cloudflare.com/d1/best-practices/read-replication/).
 * Background work that reads then writes (imports, bulk jobs, actions, Cron, the workspace
 * object's merges and confirmations) uses it: that is stronger than a "first-primary"
 * session, whose later reads may come from a replica at the session's bookmark.
 */
export function database(d1: D1Database): Db {
  let db = instances.get(d1);
  if (!db) {
    db = open(d1);
    instances.set(d1, db);
  }
  return db;
}

/**
 * drizzle over one D1 session (./d1-sessions.ts). Not cached (nor put in `instances`): a
 * session lives for one request, and without a schema drizzle() builds nothing costly
 * (measured in Node: under 1 µs a call), so the instance, its metering proxy and the
 * session are garbage with the request's context, the only thing holding them.
 */
export const sessionDatabase = (session: D1Queries): Db => open(session);

const dialect = new SQLiteAsyncDialect({ casing });

/**
 * Numbered parameters (?1, ?2, ...) for a statement that repeats its values, which
 * drizzle would bind once per use: D1 binds at most 100 per statement. A value given
 * again (a string, number, boolean or null) reuses its number, so a fragment built
 * twice (a role condition in each arm of a UNION) binds its values once.
 */
export function numberedParams() {
  const values: unknown[] = [];
  const numbers = new Map<unknown, number>();
  const param = (value: unknown) => {
    const shareable = value === null || typeof value !== "object";
    let number = shareable ? numbers.get(value) : undefined;
    if (number === undefined) {
      number = values.push(value);
      if (shareable) numbers.set(value, number);
    }
    return sql.raw(`?${number}`);
  };
  return { values, param };
}

/** Runs a statement built with `numberedParams`; identifiers render as `database` renders them. */
export async function allNumbered<T>(db: Db, statement: SQL, values: unknown[]): Promise<T[]> {
  const query = dialect.sqlToQuery(statement);
  if (query.params.length > 0) throw new Error("allNumbered: a value was inlined instead of numbered");
  const { results } = await db.$client
    .prepare(query.sql)
    .bind(...values)
    .all<T>();
  return results;
}

/**
 * A batch whose SQL is built once per isolate, with `sql.placeholder(name)` for what
 * varies, then bound to each call's values. For a hot path: drizzle takes longer to
 * build a batch of statements than D1 takes to run it.
 */
export function preparedBatch(build: (db: Db) => readonly { toSQL(): Query }[]) {
  let queries: Query[] | undefined;
  return (db: Db, values: Record<string, unknown>): Promise<D1Result[]> => {
    queries ??= build(db).map((statement) => statement.toSQL());
    const client = db.$client;
    return client.batch(queries.map((q) => client.prepare(q.sql).bind(...fillPlaceholders(q.params, values))));
  };
}

/**
 * A drizzle query or raw SQL as a D1 statement, for a batch sent straight to D1 (whose
 * results all carry their `meta`): drizzle's db.batch() cannot take raw SQL (db.run()) on
 * D1, and set-based writes from JSON need it.
 */
export function d1Statement(d1: D1Queries, query: SQL | { toSQL(): Query }): D1PreparedStatement {
  const { sql: text, params } = "toSQL" in query ? query.toSQL() : dialect.sqlToQuery(query);
  return d1.prepare(text).bind(...params);
}

/** D1's own statement behind each metered one: batch() takes only D1's own. */
const unwrapped = new WeakMap<D1PreparedStatement, D1PreparedStatement>();

/**
 * The D1 binding, reporting the `meta` of every result (rows read and written) to the
 * request's usage in ./d1-metrics.ts. Statements, results and errors are D1's own.
 */
function metered(d1: D1Queries): D1Queries {
  return new Proxy(d1, {
    get(target, key) {
      if (key === "prepare") {
        return (query: string) => meteredStatement(target, query, [], target.prepare(query));
      }
      if (key === "batch") {
        return async (statements: D1PreparedStatement[]) => {
          const results = await target.batch(statements.map((s) => unwrapped.get(s) ?? s));
          for (const result of results) recordD1Meta(result.meta);
          return results;
        };
      }
      return forward(target, key);
    },
  });
}

function meteredStatement(
  d1: D1Queries,
  query: string,
  values: unknown[],
  statement: D1PreparedStatement,
): D1PreparedStatement {
  const all = async () => {
    const result = await statement.all();
    recordD1Meta(result.meta);
    return result;
  };
  const proxy = new Proxy(statement, {
    get(target, key) {
      switch (key) {
        case "bind":
          return (...bound: unknown[]) => meteredStatement(d1, query, bound, target.bind(...bound));
        case "all":
          return all;
        case "run":
          return async () => {
            const result = await target.run();
            recordD1Meta(result.meta);
            return result;
          };
        case "first":
          return async (column?: string) => firstOf((await all()).results, column);
        case "raw":
          return (options?: { columnNames?: boolean }) =>
            options?.columnNames || !SELECT.test(query)
              ? target.raw(options as { columnNames?: false })
              : rawSelect(d1, query, values, target);
        default:
          return forward(target, key);
      }
    },
  });
  unwrapped.set(proxy, statement);
  return proxy;
}

const SELECT = /^\s*select\b/i;
const INTEGER_KEY = /^(?:0|[1-9]\d*)$/;

/**
 * raw() answers bare rows without their meta, and drizzle reads every select through it
 * (https://github.com/drizzle-team/drizzle-orm/issues/1811). So a select runs through
 * all() instead, as `select * from (<query>)`: SQLite names the outer columns uniquely
 * ("id", "id:1"), so no column is lost when D1 turns rows into objects, and it reads the
 * same rows (it flattens the subquery, or streams it). Objects keep the column order
 * unless a column is named like an integer (JavaScript orders those keys first): then the
 * select runs again through raw(). Other statements (a write's RETURNING outside a batch)
 * go to raw() unmetered; writes here go through batch().
 */
async function rawSelect(d1: D1Queries, query: string, values: unknown[], statement: D1PreparedStatement) {
  const wrapped = d1.prepare(`select * from (${query.replace(/;\s*$/, "")}\n)`).bind(...values);
  const result = await wrapped.all<Record<string, unknown>>();
  recordD1Meta(result.meta);
  const [first] = result.results;
  if (!first) return [];
  if (Object.keys(first).some((k) => INTEGER_KEY.test(k))) return statement.raw();
  return result.results.map((row) => Object.values(row));
}

/** first() as D1 answers it, from the rows of all() (first() itself hides the meta). */
function firstOf(rows: Record<string, unknown>[], column?: string) {
  const [row] = rows;
  if (!row) return null;
  if (column === undefined) return row;
  if (row[column] === undefined) throw new Error(`D1_COLUMN_NOTFOUND: Column not found (${column})`);
  return row[column];
}

/** A property of `target` read through a proxy of it: a method stays bound to `target`. */
export function forward<T extends object>(target: T, key: string | symbol) {
  const value: unknown = Reflect.get(target, key);
  return typeof value === "function" ? value.bind(target) : value;
}
