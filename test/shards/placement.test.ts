import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ApiError } from "../../worker/lib/errors";
import { placeWorkspace } from "../../worker/shards/placement";
import { OLD_TABLES } from "../../worker/upgrades/lean-members";
import { rowsOnEveryShard } from "../db";
import { addMember, call, newWorkspace, PLATFORM_TOKEN } from "../helpers";

/** A pool of two real D1 databases of no deployment's shard, as the env lists shards. */
const pool = () => ({ SHARD_0: env.SCRATCH_A, SHARD_1: env.SCRATCH_B }) as unknown as Env;

/** Grows a database by about `kib` KiB of rows. */
async function fill(d1: D1Database, kib: number) {
  await d1.prepare("create table if not exists filler (bytes blob)").run();
  for (let i = 0; i < kib; i += 64) await d1.prepare("insert into filler values (randomblob(65536))").run();
}

const listShards = async () => {
  const res = await call("GET", "/v1/platform/shards", { key: PLATFORM_TOKEN });
  expect(res.status).toBe(200);
  return res.body.data as { shard: number; workspaces: number; members: number; bytes: number }[];
};

describe("placement", () => {
  it("puts a new workspace on the shard with the most room (the fewest bytes), or on the one named", async () => {
    const shards = pool();
    const sizes = async () => {
      const [a, b] = await Promise.all(
        [env.SCRATCH_A, env.SCRATCH_B].map(async (d1) => (await d1.prepare("select 1").run()).meta.size_after),
      );
      return { a: a ?? 0, b: b ?? 0 };
    };
    // Whichever is bigger now, the other one gets the next workspace; then the other way round.
    const before = await sizes();
    await fill(before.a <= before.b ? env.SCRATCH_B : env.SCRATCH_A, 256);
    const grown = await sizes();
    const emptier = grown.a < grown.b ? 0 : 1;
    expect((await placeWorkspace(shards)).index).toBe(emptier);
    await fill(emptier === 0 ? env.SCRATCH_A : env.SCRATCH_B, Math.abs(grown.a - grown.b) / 1024 + 256);
    expect((await placeWorkspace(shards)).index).toBe(1 - emptier);

    expect((await placeWorkspace(shards, emptier)).index).toBe(emptier);
    const refused = await placeWorkspace(shards, 2).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(ApiError);
    expect(refused).toMatchObject({ status: 422, extra: { issues: [{ path: "shard" }] } });
  });

  it("answers POST /v1/workspaces with the shard it chose, one GET /v1/platform/shards lists", async () => {
    const listed = (await listShards()).map((s) => s.shard);
    expect(listed).toEqual([0, 1]);
    const placed = new Set<number>();
    for (let i = 0; i < 4; i++) {
      const ws = await newWorkspace();
      const { shard } = (await call("GET", "/v1/workspace", { key: ws.key })).body;
      expect(listed).toContain(shard);
      placed.add(shard);
    }
    expect(placed.size).toBeGreaterThan(0);
  });

  it("takes back the directory row of a workspace whose shard batch failed, so its slug stays free", async () => {
    const slug = `failing-${crypto.randomUUID().slice(0, 8)}`;
    const trigger = `refuse_${slug.replaceAll("-", "_")}`;
    await env.SHARD_1.prepare(
      `create trigger ${trigger} before insert on workspaces when new.slug = '${slug}'
       begin select raise(abort, 'refused by the test'); end`,
    ).run();
    const body = { name: "Failing", slug, owner: { name: "F", email: "f@failing.test" }, shard: 1 };
    try {
      const failed = await call("POST", "/v1/workspaces", { key: PLATFORM_TOKEN, body });
      expect(failed.status).toBe(500);
    } finally {
      await env.SHARD_1.prepare(`drop trigger ${trigger}`).run();
    }
    expect(await env.DIRECTORY.prepare("select id from workspaces where slug = ?").bind(slug).all()).toMatchObject({
      results: [],
    });
    expect(await rowsOnEveryShard("select id from workspaces where slug = ?", slug)).toEqual([]);
    const retried = await call("POST", "/v1/workspaces", { key: PLATFORM_TOKEN, body });
    expect(retried.status).toBe(201);
    expect(retried.body.workspace).toMatchObject({ slug, shard: 1 });
  });
});

describe("GET /v1/platform/shards", () => {
  it("lists each shard's workspaces, members and bytes, counted on the shard", async () => {
    const before = await listShards();
    const ws = await newWorkspace({ shard: 1 });
    await addMember(ws, { email: "one@listed.test" });
    await addMember(ws, { email: "two@listed.test" });
    const after = await listShards();
    const [was, now] = [before[1], after[1]];
    // Other test files may add to a shard meanwhile: at least what this one added.
    expect((now?.workspaces ?? 0) - (was?.workspaces ?? 0)).toBeGreaterThanOrEqual(1);
    expect((now?.members ?? 0) - (was?.members ?? 0)).toBeGreaterThanOrEqual(3);
    for (const shard of after) {
      const d1 = shard.shard === 0 ? env.SHARD_0 : env.SHARD_1;
      const counted = await d1
        .prepare("select (select count(*) from workspaces) as w, (select count(*) from members) as m")
        .first<{ w: number; m: number }>();
      expect(shard.workspaces).toBeLessThanOrEqual(counted?.w ?? 0);
      expect(shard.members).toBeLessThanOrEqual(counted?.m ?? 0);
      expect(shard.bytes).toBeGreaterThan(0);
    }
  });

  it("needs the platform token", async () => {
    const ws = await newWorkspace();
    for (const key of [undefined, ws.key, "not-the-token"]) {
      const res = await call("GET", "/v1/platform/shards", { key });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe("unauthorized");
    }
  });
});

describe("every shard has the same schema", () => {
  it("after the migrations, as `npm run db:migrate` applies them to each", async () => {
    // Each shard empties and drops the old layout's tables on its own time after the upgrade's swap.
    const leaving = OLD_TABLES.map((t) => `'${t.name}'`).join(", ");
    const schema = async (d1: D1Database) =>
      (
        await d1
          .prepare(
            `select type, name, tbl_name, sql from sqlite_master
             where name not like 'sqlite_%' and name not like '_cf_%' and name not like 'refuse_%'
               and tbl_name not in (${leaving})
             order by type, name`,
          )
          .all()
      ).results;
    const [first, ...others] = await Promise.all([env.SHARD_0, env.SHARD_1].map(schema));
    expect(first?.length).toBeGreaterThan(20);
    for (const other of others) expect(other).toEqual(first);
    const migrations = async (d1: D1Database) =>
      (await d1.prepare("select name from d1_migrations order by id").all<{ name: string }>()).results;
    expect(await migrations(env.SHARD_1)).toEqual(await migrations(env.SHARD_0));
  });
});
