import { toJsonSchema } from "@valibot/to-json-schema";
import type * as v from "valibot";
import { describe, expect, it } from "vitest";
import { CreateApiKey } from "../../worker/api-keys/schema";
import { CreateLabel } from "../../worker/labels/schema";
import { AddLabels, CreateMember, PatchMember } from "../../worker/members/schema";
import { CreateWorkspace, PatchWorkspace } from "../../worker/platform/schema";
import { CreateRole, PatchRole } from "../../worker/roles/schema";
import { call } from "../helpers";

type Auth = string; // a scope, "platform" or "public"

/** Every route of the members foundation: method, path, who may call it, and its body schema. */
const ROUTES: [method: string, path: string, auth: Auth, body?: v.GenericSchema][] = [
  ["post", "/v1/workspaces", "platform", CreateWorkspace],
  ["get", "/v1/workspace", "workspace:read"],
  ["patch", "/v1/workspace", "workspace:admin", PatchWorkspace],
  ["post", "/v1/members", "members:write", CreateMember],
  ["get", "/v1/members", "members:read"],
  ["get", "/v1/members/{id}", "members:read"],
  ["patch", "/v1/members/{id}", "members:write", PatchMember],
  ["post", "/v1/members/{id}/archive", "members:write"],
  ["post", "/v1/members/{id}/unarchive", "members:write"],
  ["post", "/v1/members/{id}/labels", "members:write", AddLabels],
  ["delete", "/v1/members/{id}/labels/{slug}", "members:write"],
  ["get", "/v1/labels", "labels:read"],
  ["post", "/v1/labels", "labels:write", CreateLabel],
  ["delete", "/v1/labels/{slug}", "labels:admin"],
  ["get", "/v1/roles", "roles:read"],
  ["post", "/v1/roles", "roles:admin", CreateRole],
  ["patch", "/v1/roles/{key}", "roles:admin", PatchRole],
  ["delete", "/v1/roles/{key}", "roles:admin"],
  ["post", "/v1/api-keys", "workspace:admin", CreateApiKey],
  ["get", "/v1/api-keys", "workspace:admin"],
  ["delete", "/v1/api-keys/{id}", "workspace:admin"],
  ["get", "/healthz", "public"],
];

async function document() {
  const res = await call("GET", "/openapi.json");
  expect(res.status).toBe(200);
  expect(res.headers.get("Content-Type")).toMatch(/application\/json/);
  return res.body;
}

describe("GET /openapi.json", () => {
  it("is an OpenAPI 3 document served without a credential", async () => {
    const doc = await document();
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
  });

  it.each(ROUTES)("lists %s %s with who may call it", async (method, path, auth) => {
    const operation = (await document()).paths[path]?.[method];
    expect(operation).toBeDefined();
    if (auth === "public") {
      expect(operation.security ?? []).toEqual([]);
    } else if (auth === "platform") {
      expect(operation.security).toEqual([{ platformToken: [] }]);
    } else {
      expect(operation["x-required-scope"]).toBe(auth);
      expect(operation.security).toEqual([{ apiKey: [auth] }]);
    }
    for (const name of path.matchAll(/\{(\w+)\}/g)) {
      expect(operation.parameters).toContainEqual(
        expect.objectContaining({ name: name[1], in: "path", required: true }),
      );
    }
    expect(operation.responses.default.content["application/json"].schema.properties.error).toBeDefined();
  });

  it.each(ROUTES.filter(([, , , body]) => body))(
    "documents the body of %s %s with the JSON Schema of the valibot schema that validates it",
    async (method, path, _, body) => {
      const operation = (await document()).paths[path][method];
      const schema = operation.requestBody.content["application/json"].schema;
      expect(schema).toEqual(toJsonSchema(body as v.GenericSchema, { errorMode: "ignore", target: "openapi-3.0" }));
      expect(schema).toMatchObject({ type: "object", additionalProperties: false });
    },
  );

  it("describes the member body's fields and limits", async () => {
    const schema = (await document()).paths["/v1/members"].post.requestBody.content["application/json"].schema;
    expect(schema.required).toEqual(["name"]);
    expect(schema.properties.name).toMatchObject({ type: "string", maxLength: 200 });
    expect(schema.properties.email).toMatchObject({ type: "string", format: "email" });
    expect(schema.properties.labels).toMatchObject({ type: "array", maxItems: 50 });
  });

  it("marks a body required unless the route takes a bare POST (approving a join request)", async () => {
    const paths = (await document()).paths;
    expect(paths["/v1/members"].post.requestBody.required).toBe(true);
    expect(paths["/v1/join-requests/{id}/approve"].post.requestBody.required).toBe(false);
  });

  it("documents the list filters of GET /v1/members as query parameters", async () => {
    const operation = (await document()).paths["/v1/members"].get;
    const names = operation.parameters.map((p: { name: string }) => p.name);
    expect(names).toEqual(expect.arrayContaining(["status", "type", "role", "label", "q", "limit", "cursor"]));
  });
});
