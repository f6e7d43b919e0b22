import { eq } from "drizzle-orm";
import type { Db } from "../lib/db";
import { LEAN_MEMBERS } from "./lean-members";
import { schemaUpgrades } from "./table";

/** Phases of the lean layout's upgrade (./lean-members.ts) after its swap: the new tables are the live ones. */
const SWAPPED = new Set(["cleanup", "done"]);

/** Databases seen swapped: an upgrade never goes back. */
const lean = new WeakSet<object>();

/**
 * Whether the lean member layout is the live one (migrations/0017_lean-members.sql): read
 * once per request until its upgrade's swap, then never again in this isolate.
 */
export async function isLean(db: Db): Promise<boolean> {
  if (lean.has(db)) return true;
  const [row] = await db
    .select({ phase: schemaUpgrades.phase })
    .from(schemaUpgrades)
    .where(eq(schemaUpgrades.name, LEAN_MEMBERS))
    // Before the migration that made the table: the old layout.
    .catch(() => []);
  if (!row || !SWAPPED.has(row.phase)) return false;
  lean.add(db);
  return true;
}
