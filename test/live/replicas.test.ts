import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { logHead } from "../db";
import { call, newWorkspace, type Workspace } from "../helpers";
import { waitFor } from "../wait";

// Locally D1 has no replica that could lag; what can be held is that the object keeps, with
// the head it delivered, a bookmark its later reads (replays included) start from.
const BOOKMARK = /^[0-9a-f]+(?:-[0-9a-f]+)+$/;
const bookmarkOf = (res: { headers: Headers }) => res.headers.get("x-d1-bookmark");

describe("the workspace's object, told of a write, reads at least at its bookmark", () => {
  /** What the object keeps: the head it delivered and the bookmark its reads start from. */
  const kept = (ws: Workspace) =>
    runInDurableObject(env.WORKSPACE.getByName(ws.id), (_object, state) => ({
      delivered: state.storage.kv.get<number>("delivered") ?? 0,
      bookmark: state.storage.kv.get<string>("bookmark"),
    }));

  it("keeps, with the head it delivered, a bookmark no older than the write's that poked it", async () => {
    const ws = await newWorkspace();
    const started = await kept(ws);
    const created = await call("POST", "/v1/members", { key: ws.key, body: { name: "Lin", email: "lin@x.test" } });
    expect(created.status).toBe(201);
    // The answer's bookmark names its database (`<shard>:`); the object keeps D1's own.
    const written = (bookmarkOf(created) ?? "").replace(/^[0-9]+:/, "");
    const head = await logHead(ws.id);
    await waitFor("the object to deliver the write", async () => (await kept(ws)).delivered >= head);
    const { bookmark } = await kept(ws);
    expect(bookmark).toMatch(BOOKMARK);
    expect((bookmark ?? "") >= written).toBe(true);
    expect((bookmark ?? "") > (started.bookmark ?? "")).toBe(true);
  });
});
