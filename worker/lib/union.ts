import { type SQL, sql } from "drizzle-orm";

/** Terms per chain of UNION ALL: D1 caps a compound SELECT at 5 terms. */
const COMPOUND_TERMS = 5;

/**
 * UNION ALL of SELECTs each ordered by `order` (their leading columns, by number), nested
 * in groups within D1's cap, each group ordered again so that SQLite merges the ranges
 * lazily (a compound SELECT with ORDER BY is a merge of its terms) and a LIMIT above it
 * reads about as many rows as it returns, plus one a range.
 */
export function mergedUnion(selects: SQL[], order: SQL): SQL {
  if (selects.length <= COMPOUND_TERMS) return sql.join(selects, sql` union all `);
  const size = Math.ceil(selects.length / COMPOUND_TERMS);
  const groups = Array.from(
    { length: Math.ceil(selects.length / size) },
    (_, i) => sql`select * from (${mergedUnion(selects.slice(i * size, (i + 1) * size), order)} order by ${order})`,
  );
  return sql.join(groups, sql` union all `);
}
