import { describe, expect, it } from "vitest";
import { call } from "../helpers";

type Operation = {
  operationId: string;
  security: unknown[];
  responses: Record<string, { description?: string; content?: Record<string, { schema: unknown }> }>;
};

const document = async () => (await call("GET", "/openapi.json")).body;
const json = (operation: Operation, status: string) =>
  operation.responses[status]?.content?.["application/json"]?.schema;

describe("the OpenAPI document's shard routes", () => {
  it("names GET /v1/platform/shards listShards, for the platform token, answering a ShardList of Shard", async () => {
    const doc = await document();
    const operation: Operation = doc.paths["/v1/platform/shards"].get;
    expect(operation.operationId).toBe("listShards");
    expect(operation.security).toEqual([{ platformToken: [] }]);
    expect(json(operation, "200")).toEqual({ $ref: "#/components/schemas/ShardList" });
    expect(operation.responses["401"]?.description).toMatch(/platform token/);
    expect(doc.components.schemas.Shard.required).toEqual(["shard", "workspaces", "members", "bytes"]);
  });

  it("gives the workspace its shard, takes an optional one when creating, and says when it is refused", async () => {
    const doc = await document();
    expect(doc.components.schemas.Workspace.required).toContain("shard");
    const create: Operation = doc.paths["/v1/workspaces"].post;
    const body = (
      create as unknown as {
        requestBody: { content: Record<string, { schema: { properties: object; required: string[] } }> };
      }
    ).requestBody.content["application/json"]?.schema;
    expect(body?.properties).toHaveProperty("shard", expect.objectContaining({ type: "integer", minimum: 0 }));
    expect(body?.required).not.toContain("shard");
    expect(create.responses["409"]?.description).toMatch(/slug_taken/);
    expect(create.responses["422"]?.description).toMatch(/shard/);
  });

  it("answers the online upgrades' progress per shard, as UpgradeProgress", async () => {
    const doc = await document();
    for (const method of ["get", "post"]) {
      expect(json(doc.paths["/v1/platform/upgrades"][method], "200")).toEqual({
        $ref: "#/components/schemas/UpgradeProgress",
      });
    }
    expect(doc.components.schemas.UpgradeProgress.properties.shards).toEqual({
      type: "array",
      items: { $ref: "#/components/schemas/ShardUpgradeProgress" },
      description: expect.any(String),
    });
  });
});
