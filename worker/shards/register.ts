import { and, asc, eq, gt, sql } from "drizzle-orm";
import { now } from "../events/append";
import { BatchSizer, giveWay } from "../lib/bounded";
import { database } from "../lib/db";
import { workspaces } from "../platform/table";
import { directoryWorkspaces, registrations } from "./directory-table";
import { firstShard } from "./shards";

export type Registration = { registered: number; done: boolean };

/** Directory rows per INSERT: four values each, and D1 binds at most 100 per statement. */
const ROWS_PER_INSERT = 25;
/** Workspaces a batch registers: sized toward 50 ms of D1 time (../lib/bounded.ts). */
const BOUNDS = { min: ROWS_PER_INSERT, max: 1_000 };

/**
 * The online step that puts every workspace of shard 0 made before the directory existed
 * (when shard 0 was the only database, binding DB) in the directory: walked in id order,
 * a bounded batch at a time, where it stands kept in `registrations`, so any invocation
 * (the Cron Trigger, `POST /v1/platform/upgrades`) goes on from there and a repeated batch
 * changes nothing (a workspace already registered keeps its row). Until it is done, a
 * workspace the directory lacks is looked for on shard 0 (./directory.ts). Workspaces made
 * since are registered when they are made.
 */
export async function registerFirstShard(env: Env, budgetMs: number): Promise<Registration> {
  const started = Date.now();
  const directory = database(env.DIRECTORY);
  const shard = database(firstShard(env).d1);
  const sizer = new BatchSizer(BOUNDS, 100);
  for (;;) {
    const [state] = await directory.select().from(registrations).where(eq(registrations.shard, 0));
    if (state?.done || Date.now() - started >= budgetMs) {
      return { registered: state?.registered ?? 0, done: state?.done ?? false };
    }
    const cursor = state?.cursor ?? "";
    const page = await shard
      .select({ id: workspaces.id, slug: workspaces.slug, createdAt: workspaces.createdAt })
      .from(workspaces)
      .where(gt(workspaces.id, cursor))
      .orderBy(asc(workspaces.id))
      .limit(sizer.size);
    const done = page.length < sizer.size;
    const inserts = [];
    for (let i = 0; i < page.length; i += ROWS_PER_INSERT) {
      const rows = page.slice(i, i + ROWS_PER_INSERT).map((w) => ({ ...w, shard: 0 }));
      inserts.push(directory.insert(directoryWorkspaces).values(rows).onConflictDoNothing());
    }
    const at = now();
    const next = { cursor: page.at(-1)?.id ?? cursor, done, updatedAt: at };
    // Moves on only from where this batch found it: a concurrent invocation counts once.
    const advance = directory
      .insert(registrations)
      .values({ shard: 0, registered: page.length, ...next })
      .onConflictDoUpdate({
        target: registrations.shard,
        set: { ...next, registered: sql`${registrations.registered} + ${page.length}` },
        setWhere: and(eq(registrations.cursor, cursor), eq(registrations.done, false)),
      });
    const results = await directory.batch([advance, ...inserts]);
    sizer.record(results as unknown as D1Result[], page.length);
    await giveWay();
  }
}
