import { describe, expect, it } from "vitest";
import { rows } from "../db";
import { call, newWorkspace, PLATFORM_TOKEN, uniqueSuffix } from "../helpers";
import { outboxTo } from "../links";

const workspaceBody = (slug: string, owner = "Olive Owner") => ({
  name: `Workspace ${slug}`,
  slug,
  owner: { name: owner, email: `owner@${slug}.test` },
});

const createWorkspace = (idempotencyKey: string, body: unknown) =>
  call("POST", "/v1/workspaces", { key: PLATFORM_TOKEN, body, headers: { "Idempotency-Key": idempotencyKey } });

describe("Idempotency-Key on the platform token's POSTs", () => {
  it("two identical POST /v1/workspaces at once create one workspace; a retry gets the same answer", async () => {
    const slug = `ws-${uniqueSuffix()}`;
    const key = `create-${slug}`;
    const [a, b] = await Promise.all([
      createWorkspace(key, workspaceBody(slug)),
      createWorkspace(key, workspaceBody(slug)),
    ]);
    const created = [a, b].filter((r) => r.status === 201);
    // The one that lost the race waits (409) or, once the first has answered, gets its answer: never slug_taken.
    expect(created.length).toBeGreaterThanOrEqual(1);
    for (const r of [a, b]) {
      if (r.status === 409) expect(r.body.error.code).toBe("idempotency_in_progress");
      else expect(r.status).toBe(201);
    }
    const first = created.find((r) => r.headers.get("Idempotent-Replayed") === null);
    expect(first).toBeDefined();
    const retry = await createWorkspace(key, workspaceBody(slug));
    expect(retry.status).toBe(201);
    expect(retry.headers.get("Idempotent-Replayed")).toBe("true");
    expect(retry.body).toEqual(first?.body);
    // The workspace is one, its owner's key works.
    const ws = await call("GET", "/v1/workspace", { key: retry.body.apiKey });
    expect(ws.body.id).toBe(first?.body.workspace.id);

    const other = await createWorkspace(key, workspaceBody(slug, "Someone Else"));
    expect(other.status).toBe(422);
    expect(other.body.error.code).toBe("idempotency_mismatch");
  });
});

describe("Idempotency-Key where it cannot be kept safely", () => {
  it("a public POST refuses it with 400 idempotency_not_supported and does nothing", async () => {
    const ws = await newWorkspace();
    const email = `owner@${ws.slug}.test`;
    const login = await call("POST", "/v1/auth/login", {
      body: { workspace: ws.slug, email },
      headers: { "Idempotency-Key": "login-1" },
    });
    expect(login.status).toBe(400);
    expect(login.body.error.code).toBe("idempotency_not_supported");
    expect(await outboxTo(ws, email)).toEqual([]);
  });

  it("the import upload refuses it with 400 idempotency_not_supported and starts no import", async () => {
    const ws = await newWorkspace();
    const res = await call("POST", "/v1/imports", {
      key: ws.key,
      rawBody: "email,name\nann@example.test,Ann\n",
      headers: { "Content-Type": "text/csv", "Idempotency-Key": "upload-1" },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("idempotency_not_supported");
    expect(await rows(ws.id, "select id from imports where workspace_id = ?", ws.id)).toEqual([]);
  });
});
