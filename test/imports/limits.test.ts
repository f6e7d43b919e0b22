import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { rows } from "../db";
import { newWorkspace, type Workspace } from "../helpers";
import { csv, deliver, postCsv, recordUpload, waitForImport } from "./helpers";

/** What the workspace keeps of its imports: their rows and their uploads in R2. */
async function kept(ws: Workspace) {
  const stored = await rows<{ id: string; status: string }>(
    ws.id,
    "select id, status from imports where workspace_id = ?",
    ws.id,
  );
  const objects = (await env.IMPORTS.list({ prefix: `imports/${ws.id}/` })).objects.map((o) => o.key);
  return { ids: stored.map((r) => r.id).sort(), objects: objects.sort() };
}

const upload = (ws: Workspace, n: number) => postCsv(ws, csv("email", `person${n}@example.com`));

describe("running imports per workspace", () => {
  it("answers a third upload 429 too_many_imports with Retry-After while two run, keeping nothing of it", async () => {
    const ws = await newWorkspace();
    // Recorded as POST does but not queued: both stay running until delivered.
    const running = [
      await recordUpload(ws, csv("email", "a@example.com")),
      await recordUpload(ws, csv("email", "b@example.com")),
    ];
    const before = await kept(ws);
    expect(before.ids).toHaveLength(2);

    const refused = await upload(ws, 3);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("Retry-After")).toMatch(/^\d+$/);
    expect(refused.body).toEqual({ error: { code: "too_many_imports", message: expect.any(String) } });
    expect(await kept(ws)).toEqual(before);

    // Once one has ended, the next upload goes in.
    await deliver({ id: running[0]?.id ?? "", workspaceId: ws.id });
    const accepted = await upload(ws, 4);
    expect(accepted.status).toBe(202);
    expect(await waitForImport(ws, accepted.body.id)).toMatchObject({ status: "completed", created: 1 });
  });

  it("lets exactly as many concurrent uploads in as slots are free, and keeps nothing of the others", async () => {
    const ws = await newWorkspace();
    await recordUpload(ws, csv("email", "first@example.com"));
    // One slot is left: five uploads race for it. Each runs POST's upload (startImport)
    // without the queue, so the one let in stays running and the slot stays taken. (Requests
    // through the test runtime's fetch reached the upload one by one when tried, so they did not race.)
    const answers = await Promise.allSettled(
      [1, 2, 3, 4, 5].map((n) => recordUpload(ws, csv("email", `person${n}@example.com`))),
    );
    expect(answers.filter((a) => a.status === "fulfilled")).toHaveLength(1);
    for (const refused of answers.filter((a) => a.status === "rejected")) {
      expect(refused.reason).toMatchObject({ status: 429, code: "too_many_imports" });
    }
    const { ids, objects } = await kept(ws);
    expect(ids).toHaveLength(2);
    expect(objects).toEqual(ids.map((id) => `imports/${ws.id}/${id}.csv`));
  });
});
