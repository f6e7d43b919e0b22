import { describe, expect, it } from "vitest";
import { eventsOf, rows } from "../db";
import { call, keyForRole, newWorkspace, type Workspace } from "../helpers";

const createMember = (ws: Workspace, idempotencyKey: string, body: unknown, key = ws.key) =>
  call("POST", "/v1/members", { key, body, headers: { "Idempotency-Key": idempotencyKey } });

/** Members named `name` in the workspace, as the list shows them. */
async function membersNamed(ws: Workspace, name: string) {
  const res = await call("GET", `/v1/members?q=${encodeURIComponent(name)}&limit=100`, { key: ws.key });
  return res.body.data.filter((m: { name: string }) => m.name === name);
}

describe("Idempotency-Key on POST", () => {
  it("replays the first answer to the same key and body, and creates nothing more", async () => {
    const ws = await newWorkspace();
    const first = await createMember(ws, "retry-1", { name: "Twin", email: "twin@example.test" });
    expect(first.status).toBe(201);
    expect(first.headers.get("Idempotent-Replayed")).toBeNull();
    const again = await createMember(ws, "retry-1", { name: "Twin", email: "twin@example.test" });
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    expect(await membersNamed(ws, "Twin")).toHaveLength(1);
    expect((await eventsOf(ws.id)).filter((e) => e.type === "member.created")).toHaveLength(2); // the owner's and Twin's
  });

  it("answers 422 idempotency_mismatch to the same key with another body, and creates nothing", async () => {
    const ws = await newWorkspace();
    expect((await createMember(ws, "k", { name: "First", email: "first@example.test" })).status).toBe(201);
    const other = await createMember(ws, "k", { name: "Second", email: "second@example.test" });
    expect(other.status).toBe(422);
    expect(other.body.error.code).toBe("idempotency_mismatch");
    expect(await membersNamed(ws, "Second")).toHaveLength(0);
    const elsewhere = await call("POST", "/v1/labels", {
      key: ws.key,
      body: { name: "First" },
      headers: { "Idempotency-Key": "k" },
    });
    expect(elsewhere.status).toBe(422);
    expect(elsewhere.body.error.code).toBe("idempotency_mismatch");
  });

  it("lets exactly one of two concurrent requests with the same key run", async () => {
    const ws = await newWorkspace();
    const answers = await Promise.all([
      createMember(ws, "race", { name: "Racer", email: "racer@example.test" }),
      createMember(ws, "race", { name: "Racer", email: "racer@example.test" }),
    ]);
    const statuses = answers.map((a) => a.status).sort();
    expect([
      [201, 409],
      [201, 201],
    ]).toContainEqual(statuses);
    for (const answer of answers.filter((a) => a.status === 409)) {
      expect(answer.body.error.code).toBe("idempotency_in_progress");
    }
    const created = answers.filter((a) => a.status === 201);
    expect(new Set(created.map((a) => a.body.id)).size).toBe(1);
    expect(await membersNamed(ws, "Racer")).toHaveLength(1);
  });

  it("keeps keys apart per credential: another API key's same Idempotency-Key runs on its own", async () => {
    const ws = await newWorkspace();
    const other = (await keyForRole(ws, "manager")).key;
    expect((await createMember(ws, "shared", { name: "Mine", email: "mine@example.test" })).status).toBe(201);
    // It runs, and meets the member the first made: not the first key's answer replayed.
    const theirs = await createMember(ws, "shared", { name: "Mine", email: "mine@example.test" }, other);
    expect(theirs.status).toBe(409);
    expect(theirs.body.error.code).toBe("duplicate");
    expect(theirs.headers.get("Idempotent-Replayed")).toBeNull();
    expect(await membersNamed(ws, "Mine")).toHaveLength(1);
  });

  it("replays a 4xx the request answered, but not a body that failed validation", async () => {
    const ws = await newWorkspace();
    const label = (key: string, body: unknown) =>
      call("POST", "/v1/labels", { key: ws.key, body, headers: { "Idempotency-Key": key } });
    expect((await label("a", { name: "Taken" })).status).toBe(201);
    const refused = await label("b", { name: "Taken" });
    expect(refused.status).toBe(409);
    expect((await call("DELETE", "/v1/labels/taken", { key: ws.key })).status).toBe(204);
    const replayed = await label("b", { name: "Taken" });
    expect(replayed.status).toBe(409);
    expect(replayed.body).toEqual(refused.body);
    expect(replayed.headers.get("Idempotent-Replayed")).toBe("true");

    expect((await label("c", { name: "Bad", color: "red" })).status).toBe(422);
    const fixed = await label("c", { name: "Bad", color: "#ff0000" });
    expect(fixed.status).toBe(201);
  });

  it("stores the key only as a hash, and forgets it after 24 hours", async () => {
    const ws = await newWorkspace();
    expect((await createMember(ws, "secret-key-value", { name: "Once", email: "once@example.test" })).status).toBe(201);
    const stored = await rows<Record<string, unknown>>(
      ws.id,
      "select * from idempotency_keys where workspace_id = ?",
      ws.id,
    );
    expect(stored).toHaveLength(1);
    expect(JSON.stringify(stored)).not.toContain("secret-key-value");
    await rows(
      ws.id,
      "update idempotency_keys set created_at = ? where workspace_id = ?",
      "2000-01-01T00:00:00.000Z",
      ws.id,
    );
    // It runs again, and meets the member it made a day ago.
    const later = await createMember(ws, "secret-key-value", { name: "Once", email: "once@example.test" });
    expect(later.status).toBe(409);
    expect(later.body.error.code).toBe("duplicate");
    expect(later.headers.get("Idempotent-Replayed")).toBeNull();
  });

  it("refuses a key over 255 characters with 400", async () => {
    const ws = await newWorkspace();
    const res = await createMember(ws, "x".repeat(256), { name: "Long", email: "long@example.test" });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("invalid_idempotency_key");
    expect(await membersNamed(ws, "Long")).toHaveLength(0);
  });

  it("is described in OpenAPI as a reusable header parameter of every authenticated POST", async () => {
    const doc = (await call("GET", "/openapi.json")).body;
    expect(doc.components.parameters.IdempotencyKey).toMatchObject({ name: "Idempotency-Key", in: "header" });
    const ref = { $ref: "#/components/parameters/IdempotencyKey" };
    expect(doc.paths["/v1/members"].post.parameters).toContainEqual(ref);
    expect(doc.paths["/v1/labels"].post.parameters).toContainEqual(ref);
    expect(doc.paths["/v1/members"].post.responses["409"].description).toContain("idempotency_in_progress");
    expect(doc.paths["/v1/members"].post.responses["422"].description).toContain("idempotency_mismatch");
    expect(doc.paths["/v1/members"].get.parameters).not.toContainEqual(ref);
  });
});
