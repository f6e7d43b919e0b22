// Loaded through tsx by ./list.mjs: the statements the Worker runs for a member list
// query string, captured from worker/members/reads.ts itself, for EXPLAIN QUERY PLAN.
import * as v from "valibot";
import { database } from "../worker/lib/db.ts";
import { listMembers } from "../worker/members/reads.ts";
import { ListMembersQuery } from "../worker/members/schema.ts";

export async function listSql(workspaceId, search) {
  const statements = [];
  const statement = (sql, params) => {
    const ran = (result) => async () => {
      statements.push({ sql, params });
      return result;
    };
    return {
      bind: (...bound) => statement(sql, bound),
      all: ran({ results: [], meta: {} }),
      raw: ran([]),
      run: ran({ results: [], meta: {} }),
    };
  };
  const db = database({ prepare: (sql) => statement(sql, []), batch: async () => [] });
  // As Hono's query validator hands it over: a repeated parameter becomes an array.
  const params = new URLSearchParams(search);
  const query = {};
  for (const key of new Set(params.keys())) {
    const values = params.getAll(key);
    query[key] = values.length === 1 ? values[0] : values;
  }
  await listMembers(db, workspaceId, v.parse(ListMembersQuery, query));
  return statements;
}
