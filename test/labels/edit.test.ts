import { describe, expect, it } from "vitest";
import { eventsOf, logHead, snapshot } from "../db";
import { addMember, addRole, call, keyForRole, newWorkspace, type Workspace } from "../helpers";
import { openLive, waitFor } from "../live/sockets";

const createLabel = async (ws: Workspace, body: Record<string, unknown>) => {
  const res = await call("POST", "/v1/labels", { key: ws.key, body });
  if (res.status !== 201) throw new Error(`label creation failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
};
const patchLabel = (ws: Workspace, slug: string, body: unknown, key = ws.key) =>
  call("PATCH", `/v1/labels/${slug}`, { key, body });

describe("editing a label", () => {
  it("changes its name, color and description, keeps its slug and its holders, and lists it so", async () => {
    const ws = await newWorkspace();
    const created = await createLabel(ws, { name: "VIP", slug: "vip", color: "#111111", description: "Big" });
    const holder = await addMember(ws, { email: "h@example.test", labels: ["vip"] });

    const edited = await patchLabel(ws, "vip", { name: "Very Important", color: "#22AA44", description: "Top tier" });
    expect(edited.status).toBe(200);
    expect(edited.body).toEqual({ ...created, name: "Very Important", color: "#22AA44", description: "Top tier" });
    expect((await call("GET", "/v1/labels", { key: ws.key })).body.data).toEqual([{ ...edited.body, holders: 1 }]);
    expect((await call("GET", `/v1/members/${holder.id}`, { key: ws.key })).body.labels).toEqual(["vip"]);

    const cleared = await patchLabel(ws, "vip", { description: null });
    expect(cleared.body).toEqual({ ...edited.body, description: null });
    const log = await eventsOf(ws.id);
    expect(log.filter((e) => e.type === "label.updated").map((e) => e.data)).toEqual([
      { label: edited.body },
      { label: cleared.body },
    ]);
  });

  it("appends nothing for an edit that changes nothing", async () => {
    const ws = await newWorkspace();
    const created = await createLabel(ws, { name: "Same", color: "#123456" });
    const before = await snapshot(ws.id);
    for (const body of [{}, { name: "Same", color: "#123456" }]) {
      const res = await patchLabel(ws, created.slug, body);
      expect(res.status).toBe(200);
      expect(res.body).toEqual(created);
    }
    expect(await snapshot(ws.id)).toEqual(before);
  });

  it("answers 422 for bad input, naming the field, and changes nothing", async () => {
    const ws = await newWorkspace();
    const created = await createLabel(ws, { name: "Kept" });
    const before = await snapshot(ws.id);
    const cases: [unknown, string][] = [
      [{ color: "red" }, "color"],
      [{ name: "  " }, "name"],
      [{ name: "x".repeat(65) }, "name"],
      [{ description: "x".repeat(501) }, "description"],
      [{ slug: "other" }, "slug"],
    ];
    for (const [body, path] of cases) {
      const res = await patchLabel(ws, created.slug, body);
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(res.body.error.issues.map((i: { path: string }) => i.path)).toContain(path);
    }
    expect(await snapshot(ws.id)).toEqual(before);
  });

  it("answers 409 duplicate for another label's name, and 404 for an unknown label or another workspace's", async () => {
    const ws = await newWorkspace();
    await createLabel(ws, { name: "First" });
    const second = await createLabel(ws, { name: "Second" });
    const taken = await patchLabel(ws, second.slug, { name: "First" });
    expect(taken.status).toBe(409);
    expect(taken.body.error.code).toBe("duplicate");

    expect((await patchLabel(ws, "nope", { name: "X" })).status).toBe(404);
    const other = await newWorkspace();
    const theirs = await createLabel(other, { name: "Theirs" });
    const res = await patchLabel(ws, theirs.slug, { name: "Mine now" });
    expect(res.status).toBe(404);
    expect((await call("GET", "/v1/labels", { key: other.key })).body.data).toEqual([{ ...theirs, holders: 0 }]);
  });

  it("needs labels:write: a key that only reads labels gets 403", async () => {
    const ws = await newWorkspace();
    await addRole(ws, "reader", ["labels:read"]);
    const reader = (await keyForRole(ws, "reader")).key;
    const created = await createLabel(ws, { name: "Guarded" });
    const res = await patchLabel(ws, created.slug, { name: "Taken over" }, reader);
    expect(res.status).toBe(403);
    expect((await call("GET", "/v1/labels", { key: ws.key })).body.data).toEqual([{ ...created, holders: 0 }]);
  });

  it("reaches the live stream as label.updated with the label as it now is", async () => {
    const ws = await newWorkspace();
    const created = await createLabel(ws, { name: "Live" });
    const socket = await openLive({ key: ws.key, after: await logHead(ws.id) });
    const edited = await patchLabel(ws, created.slug, { name: "Live and renamed", color: "#abcdef" });
    expect(edited.status).toBe(200);
    await waitFor("label.updated", () => socket.messages.some((m) => "type" in m && m.type === "label.updated"));
    const frame = socket.messages.find((m) => "type" in m && m.type === "label.updated");
    expect(frame).toMatchObject({ type: "label.updated", data: { label: edited.body } });
  });

  it("is described in OpenAPI as patchLabel, answering a Label, with its errors", async () => {
    const operation = (await call("GET", "/openapi.json")).body.paths["/v1/labels/{slug}"].patch;
    expect(operation.operationId).toBe("patchLabel");
    expect(operation["x-required-scope"]).toBe("labels:write");
    expect(operation.responses["200"].content["application/json"].schema).toEqual({
      $ref: "#/components/schemas/Label",
    });
    expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(["401", "403", "404", "409", "422"]));
    const body = operation.requestBody.content["application/json"].schema;
    expect(Object.keys(body.properties).sort()).toEqual(["color", "description", "name"]);
  });
});
