import { describe, expect, it } from "vitest";
import { rowsOnEveryShard, snapshot } from "../db";
import { call, newWorkspace, PLATFORM_TOKEN, uniqueSuffix } from "../helpers";

const workspaceBody = (slug = `ws-${uniqueSuffix()}`) => ({
  name: "Acme Support",
  slug,
  owner: { name: "Olive Owner", email: `Olive@${slug}.TEST` },
});

describe("POST /v1/workspaces", () => {
  it("creates a workspace and answers 201 with it, its manager owner and an API key acting as the owner", async () => {
    const body = { ...workspaceBody(), allowJoinRequests: true };
    const res = await call("POST", "/v1/workspaces", { key: PLATFORM_TOKEN, body });
    expect(res.status).toBe(201);
    expect(res.body.workspace).toEqual({
      id: expect.any(String),
      slug: body.slug,
      name: "Acme Support",
      allowJoinRequests: true,
      rateLimitPerMinute: 600,
      eventRetentionDays: null,
      shard: expect.any(Number),
    });
    expect(res.body.owner).toMatchObject({
      id: expect.any(String),
      name: "Olive Owner",
      email: `olive@${body.slug}.test`,
      phone: null,
      role: "manager",
      type: "team",
      externalId: null,
      labels: [],
      status: "active",
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    expect(res.body.apiKey).toEqual(expect.any(String));

    const me = await call("GET", `/v1/members/${res.body.owner.id}`, { key: res.body.apiKey });
    expect(me.status).toBe(200);
    expect(me.body).toEqual(res.body.owner);
    const workspace = await call("GET", "/v1/workspace", { key: res.body.apiKey });
    expect(workspace.body).toEqual(res.body.workspace);
  });

  it("does not take join requests unless asked to", async () => {
    const res = await call("POST", "/v1/workspaces", { key: PLATFORM_TOKEN, body: workspaceBody() });
    expect(res.status).toBe(201);
    expect(res.body.workspace.allowJoinRequests).toBe(false);
  });

  it("refuses a request without the platform token with 401", async () => {
    const body = workspaceBody();
    const res = await call("POST", "/v1/workspaces", { body });
    expect(res.status).toBe(401);
    expect(res.body.error).toMatchObject({ code: "unauthorized", message: expect.any(String) });
    expect(await rowsOnEveryShard("select id from workspaces where slug = ?", body.slug)).toEqual([]);
  });

  it("refuses a wrong platform token, and an API key, with 401", async () => {
    const ws = await newWorkspace();
    for (const key of ["not-the-platform-token", `${PLATFORM_TOKEN}x`, ws.key]) {
      const body = workspaceBody();
      const res = await call("POST", "/v1/workspaces", { key, body });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe("unauthorized");
      expect(await rowsOnEveryShard("select id from workspaces where slug = ?", body.slug)).toEqual([]);
    }
  });

  it("refuses a taken slug with 409 slug_taken and writes nothing, not even roles for a workspace that was not made", async () => {
    const ws = await newWorkspace();
    const before = await snapshot(ws.id);
    const res = await call("POST", "/v1/workspaces", { key: PLATFORM_TOKEN, body: workspaceBody(ws.slug) });
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({ code: "slug_taken", message: expect.any(String) });
    expect(await snapshot(ws.id)).toEqual(before);
    const orphans = await rowsOnEveryShard(
      "select workspace_id from roles where workspace_id not in (select id from workspaces)",
    );
    expect(orphans).toEqual([]);
  });

  it.each([
    ["no body fields", {}, "name"],
    ["a missing owner", { name: "Acme", slug: "acme-x" }, "owner"],
    ["an invalid owner email", { ...workspaceBody(), owner: { name: "O", email: "not-an-email" } }, "owner.email"],
    ["an uppercase slug", { ...workspaceBody(), slug: "Acme" }, "slug"],
    ["a slug with spaces", { ...workspaceBody(), slug: "acme support" }, "slug"],
    ["an unknown field", { ...workspaceBody(), plan: "pro" }, "plan"],
    ["a non-boolean allowJoinRequests", { ...workspaceBody(), allowJoinRequests: "yes" }, "allowJoinRequests"],
    ["a too long name", { ...workspaceBody(), name: "x".repeat(201) }, "name"],
  ])("answers 422 validation_failed naming the field for %s", async (_, body, path) => {
    const res = await call("POST", "/v1/workspaces", { key: PLATFORM_TOKEN, body });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe("validation_failed");
    expect(res.body.error.issues.map((i: { path: string }) => i.path)).toContain(path);
  });
});

describe("/v1/workspace", () => {
  it("answers an empty edit with the workspace unchanged, no event and no 500", async () => {
    const ws = await newWorkspace();
    const before = await snapshot(ws.id);
    const res = await call("PATCH", "/v1/workspace", { key: ws.key, body: {} });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: ws.id, slug: ws.slug });
    expect(await snapshot(ws.id)).toEqual(before);
  });

  it("renames the workspace and switches join requests on", async () => {
    const ws = await newWorkspace();
    const res = await call("PATCH", "/v1/workspace", {
      key: ws.key,
      body: { name: "Renamed", allowJoinRequests: true },
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      id: ws.id,
      slug: ws.slug,
      name: "Renamed",
      allowJoinRequests: true,
      rateLimitPerMinute: 10_000,
      eventRetentionDays: null,
      shard: expect.any(Number),
    });
  });
});
