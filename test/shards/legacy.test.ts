import { env } from "cloudflare:workers";
import { afterAll, describe, expect, it } from "vitest";
import { sha256Hex } from "../../worker/lib/crypto";
import { forgetShard } from "../../worker/shards/directory";
import { call, newIp, newWorkspace, PLATFORM_TOKEN, type Workspace } from "../helpers";
import { asBrowser } from "../links";
import { legacyKey, legacySession } from "./legacy";

/** The directory's row of a workspace, if any. */
const directoryRow = (id: string) =>
  env.DIRECTORY.prepare("select id, slug, shard from workspaces where id = ?").bind(id).first();

/**
 * A workspace as a deployment from before shards has it: its rows on shard 0 (then the only
 * database) and no directory row, before the online step has registered shard 0's workspaces.
 */
async function madeBeforeShards() {
  const ws = await newWorkspace({ shard: 0, allowJoinRequests: true });
  await forgetDirectoryRow(ws);
  await env.DIRECTORY.prepare(
    `insert into registrations (shard, cursor, registered, done, updated_at) values (0, '', 0, 0, ?)
     on conflict (shard) do update set cursor = '', registered = 0, done = 0`,
  )
    .bind(new Date().toISOString())
    .run();
  return ws;
}

async function forgetDirectoryRow(ws: Workspace) {
  await env.DIRECTORY.prepare("delete from workspaces where id = ?").bind(ws.id).run();
  forgetShard(ws.id);
}

/** The online upgrades to their end, as the Cron Trigger takes them: shard 0's workspaces all registered. */
async function registerEveryWorkspace() {
  for (let calls = 0; calls < 100; calls++) {
    const res = await call("POST", "/v1/platform/upgrades", { key: PLATFORM_TOKEN });
    expect(res.status).toBe(200);
    if (res.body.registration.done) return res.body;
  }
  throw new Error("the registration did not finish");
}

// Other test files find shard 0 registered, as the setup left it.
afterAll(registerEveryWorkspace);

describe("a workspace made before shards (its rows on shard 0, not in the directory)", () => {
  it("keeps working with its API key and session cookie issued without a routing part", async () => {
    const ws = await madeBeforeShards();
    const key = await legacyKey(env.SHARD_0, ws);
    const cookie = await legacySession(env.SHARD_0, ws);
    expect((await call("GET", "/v1/members", { key })).status).toBe(200);
    expect((await call("GET", "/v1/workspace", { key })).body).toMatchObject({ id: ws.id, shard: 0 });
    expect((await call("GET", "/v1/members", { headers: asBrowser(cookie) })).status).toBe(200);
    const created = await call("POST", "/v1/members", { key, body: { name: "New", email: "new@legacy.test" } });
    expect(created.status).toBe(201);
  });

  it("is found by its slug and registered in the directory then, so no new workspace takes its slug", async () => {
    const ws = await madeBeforeShards();
    expect(await directoryRow(ws.id)).toBeNull();
    const joined = await call("POST", `/public/${ws.slug}/join-requests`, {
      body: { name: "Jo", email: "jo@legacy.test" },
      headers: { "CF-Connecting-IP": newIp() },
    });
    expect(joined.status).toBe(202);
    expect(await directoryRow(ws.id)).toEqual({ id: ws.id, slug: ws.slug, shard: 0 });

    await forgetDirectoryRow(ws);
    const taken = await call("POST", "/v1/workspaces", {
      key: PLATFORM_TOKEN,
      body: { name: "Usurper", slug: ws.slug, owner: { name: "U", email: "u@legacy.test" }, shard: 1 },
    });
    expect(taken.status).toBe(409);
    expect(taken.body.error.code).toBe("slug_taken");
    expect(await directoryRow(ws.id)).toEqual({ id: ws.id, slug: ws.slug, shard: 0 });
  });

  it("is registered by the online step, which a second run leaves as it is", async () => {
    const ws = await madeBeforeShards();
    const first = await registerEveryWorkspace();
    expect(first.registration.done).toBe(true);
    expect(await directoryRow(ws.id)).toEqual({ id: ws.id, slug: ws.slug, shard: 0 });
    const again = await call("POST", "/v1/platform/upgrades", { key: PLATFORM_TOKEN });
    expect(again.body.registration).toEqual(first.registration);
    expect(await directoryRow(ws.id)).toEqual({ id: ws.id, slug: ws.slug, shard: 0 });
  });
});

describe("a token without a routing part of a workspace on another shard than 0", () => {
  it("is found through the directory's credential route, and without one not at all", async () => {
    const ws = await newWorkspace({ shard: 1 });
    const key = await legacyKey(env.SHARD_1, ws);
    // Legacy tokens without a route are looked for on shard 0, where this one is not.
    expect((await call("GET", "/v1/members", { key })).status).toBe(401);
    await env.DIRECTORY.prepare("insert into credential_routes (token_hash, workspace_id) values (?, ?)")
      .bind(await sha256Hex(key), ws.id)
      .run();
    expect((await call("GET", "/v1/members", { key })).status).toBe(200);
  });
});
