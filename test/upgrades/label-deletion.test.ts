import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { beginDeletion, continueDeletion } from "../../worker/labels/deletion";
import { database } from "../../worker/lib/db";
import { runShardUpgrades } from "../../worker/upgrades/run";
import { isLean } from "../../worker/upgrades/state";

/**
 * A label deleted across the lean layout's upgrade (worker/upgrades), on a database of its
 * own (UPGRADE_DB) migrated to the end but not upgraded: the old layout is live when the
 * deletion begins, and the swap lands between two of its batches.
 */
const d1 = env.UPGRADE_DB;
const db = database(d1);
const WS = "ws_label_deletion";
const HOLDERS = 30;
/** Five holders a batch, as BULK_BATCH does for the workers tests. */
const job = { BULK_BATCH: "5" };
const run = (batches: number) =>
  continueDeletion(job, db, WS, "doomed", { deadline: Number.POSITIVE_INFINITY, maxBatches: batches });

async function all<T>(query: string, ...params: unknown[]): Promise<T[]> {
  return (
    await d1
      .prepare(query)
      .bind(...params)
      .all<T>()
  ).results;
}

describe("a label deleted while the lean layout's upgrade runs", () => {
  beforeAll(async () => {
    await applyD1Migrations(d1, env.TEST_MIGRATIONS);
    const at = "2026-01-01T00:00:00.000Z";
    await d1.batch([
      ...["doomed", "kept"].map((slug) =>
        d1
          .prepare(
            "insert into labels (workspace_id, slug, name, color, created_at) values (?1, ?2, ?2, '#64748b', ?3)",
          )
          .bind(WS, slug, at),
      ),
      ...Array.from({ length: HOLDERS }, (_, i) =>
        d1
          .prepare(
            `insert into members (id, workspace_id, name, role, type, status, labels, created_at, updated_at)
             values (?1, ?2, ?3, 'user', 'customer', ?4, '["doomed","kept"]', ?5, ?5)`,
          )
          .bind(`mem_${String(i).padStart(4, "0")}`, WS, `Holder ${i}`, i % 7 === 6 ? "archived" : "active", at),
      ),
    ]);
  });

  it("unlabels each holder once, in order after label.deleted, through whichever label index is live", async () => {
    expect(await isLean(db)).toBe(false);
    expect(await beginDeletion(db, WS, "doomed", new Date().toISOString())).toBe(true);
    // Two batches through the old layout's index (member_labels).
    expect(await run(2)).toBe(false);

    // The upgrade copies, then swaps: the new tables are live, the old index is left as it was.
    for (let runs = 0; !(await isLean(db)); runs++) {
      if (runs > 100) throw new Error("the upgrade did not reach its swap");
      await runShardUpgrades(d1, 5_000);
    }
    expect(await run(Number.POSITIVE_INFINITY)).toBe(true);

    const log = await all<{ seq: number; type: string; data: string }>(
      "select seq, type, data from events where workspace_id = ? order by seq",
      WS,
    );
    expect(log.map((e) => e.seq)).toEqual(log.map((_, i) => i + 1));
    expect(log[0]?.type).toBe("label.deleted");
    const unlabeled = log
      .slice(1)
      .map((e) => ({ type: e.type, ...(JSON.parse(e.data) as { member: { id: string; labels: string[] } }) }));
    expect(unlabeled).toHaveLength(HOLDERS);
    const ids = unlabeled.map((e) => e.member.id);
    expect(new Set(ids).size).toBe(HOLDERS);
    for (const event of unlabeled) {
      expect(event).toMatchObject({ type: "member.unlabeled", labels: ["doomed"], member: { labels: ["kept"] } });
    }
    expect(await all("select id from members where workspace_id = ? and labels like '%doomed%'", WS)).toEqual([]);
    expect(await all("select 1 from members_by_label where workspace_id = ? and label = 'doomed'", WS)).toEqual([]);
    expect(await all("select slug from labels where workspace_id = ?", WS)).toEqual([{ slug: "kept" }]);
  });
});
