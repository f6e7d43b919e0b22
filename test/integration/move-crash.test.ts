import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../wait";
import { type DevServer, startDevServer } from "./dev-server";

/**
 * A move whose Worker dies mid-copy (wrangler dev killed with SIGKILL: no step finishes,
 * nothing is flushed) resumes from the cursor it stored last when the server comes back,
 * and ends with every row on the target, once.
 */
let server: DevServer;

beforeAll(async () => {
  server = await startDevServer();
}, 120_000);

afterAll(async () => {
  await server?.stop();
});

async function api(path: string, key: string, init: { method?: string; body?: unknown; csv?: string } = {}) {
  const res = await fetch(`${server.url}${path}`, {
    method: init.method ?? (init.body === undefined && init.csv === undefined ? "GET" : "POST"),
    headers: {
      Authorization: `Bearer ${key}`,
      "Content-Type": init.csv === undefined ? "application/json" : "text/csv",
    },
    body: init.csv ?? (init.body === undefined ? undefined : JSON.stringify(init.body)),
  });
  return { status: res.status, body: await res.json() };
}

const MEMBERS = 3_000;

describe("a move under wrangler dev", { timeout: 600_000 }, () => {
  it("resumes after the server is killed mid-move and ends with every member on the target once", async () => {
    const slug = "crash-move";
    const created = await api("/v1/workspaces", server.platformToken, {
      body: { name: slug, slug, owner: { name: "Owner", email: `owner@${slug}.test` }, shard: 0 },
    });
    expect(created.status).toBe(201);
    const { apiKey: key, workspace } = created.body;
    const csv = ["name,email", ...Array.from({ length: MEMBERS }, (_, i) => `Member ${i},m${i}@${slug}.test`)].join(
      "\n",
    );
    const imported = await api("/v1/imports", key, { csv });
    expect(imported.status).toBe(202);
    await waitFor(
      "the import",
      async () => (await api(`/v1/imports/${imported.body.id}`, key)).body.status === "completed",
      120_000,
    );

    const started = await api(`/v1/platform/workspaces/${workspace.id}/move`, server.platformToken, {
      body: { shard: 1 },
    });
    expect(started.status).toBe(202);
    const moveOf = async () => (await api(`/v1/platform/moves/${started.body.id}`, server.platformToken)).body;
    let before: { status: string; copied: number; total: number } = await moveOf();
    await waitFor(
      "the copy under way",
      async () => {
        before = await moveOf();
        return before.copied > 0;
      },
      60_000,
    );
    await server.restart("SIGKILL");
    // Killed before its switch, with rows still to copy.
    expect(before.status).toBe("running");
    expect(before.copied).toBeLessThan(before.total);

    await waitFor("the move's switch", async () => (await moveOf()).status === "completed", 120_000);
    const workspaceNow = await api("/v1/workspace", key);
    expect(workspaceNow.body.shard).toBe(1);
    // The source's copy is deleted after its grace: then each member is on the target, once.
    await waitFor("the old copy's removal", async () => (await moveOf()).finishedAt !== null, 120_000);
    const shards = (await api("/v1/platform/shards", server.platformToken)).body.data as {
      shard: number;
      members: number;
    }[];
    expect(shards.map((s) => s.members)).toEqual([0, MEMBERS + 1]);
    const listed = await api(`/v1/members?q=${encodeURIComponent("m2999@")}`, key);
    expect(listed.body.data).toHaveLength(1);
    const added = await api("/v1/members", key, { body: { name: "After", email: `after@${slug}.test` } });
    expect(added.status).toBe(201);
  });
});
