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
  ["post", "/v1/auth/logout", "public"],
];

const ERROR = { $ref: "#/components/schemas/Error" };
type Operation = { operationId: string; responses: Record<string, { content?: Record<string, { schema: unknown }> }> };

async function document() {
  const res = await call("GET", "/openapi.json");
  expect(res.status).toBe(200);
  expect(res.headers.get("Content-Type")).toMatch(/application\/json/);
  return res.body;
}

describe("GET /openapi.json", () => {
  it("is an OpenAPI 3.1 document served without a credential", async () => {
    const doc = await document();
    expect(doc.openapi).toMatch(/^3\.1\./);
    expect(doc.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
  });

  it("leaves the liveness probe out: /healthz is not part of the contract", async () => {
    expect((await document()).paths["/healthz"]).toBeUndefined();
    expect((await call("GET", "/healthz")).status).toBe(200);
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
    expect(operation.responses.default.content["application/json"].schema).toEqual(ERROR);
  });

  it.each(ROUTES.filter(([, , , body]) => body))(
    "documents the body of %s %s with the JSON Schema of the valibot schema that validates it",
    async (method, path, _, body) => {
      const operation = (await document()).paths[path][method];
      const schema = operation.requestBody.content["application/json"].schema;
      const { $schema: _dialect, ...expected } = toJsonSchema(body as v.GenericSchema, {
        errorMode: "ignore",
        target: "draft-2020-12",
        typeMode: "input",
      });
      expect(schema).toEqual(expected);
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

  it("names every operation once, by what it does to what", async () => {
    const ids = operations(await document()).map(([, , operation]) => operation.operationId);
    expect(ids.every((id) => /^[a-z][A-Za-z]+$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    const paths = (await document()).paths;
    expect({
      list: paths["/v1/members"].get.operationId,
      create: paths["/v1/members"].post.operationId,
      get: paths["/v1/members/{id}"].get.operationId,
      patch: paths["/v1/members/{id}"].patch.operationId,
      archive: paths["/v1/members/{id}/archive"].post.operationId,
      messages: paths["/v1/members/{id}/messages"].get.operationId,
      accept: paths["/v1/invitations/accept"].post.operationId,
      revokeKey: paths["/v1/api-keys/{id}"].delete.operationId,
    }).toEqual({
      list: "listMembers",
      create: "createMember",
      get: "getMember",
      patch: "patchMember",
      archive: "archiveMember",
      messages: "listMemberMessages",
      accept: "acceptInvitation",
      revokeKey: "revokeApiKey",
    });
  });

  it("names the shared shapes and refers to them, a page as {data: [item], nextCursor}", async () => {
    const doc = await document();
    const schemas = doc.components.schemas;
    for (const name of [
      "Member",
      "Label",
      "Role",
      "Invitation",
      "JoinRequest",
      "Error",
      "ApiKey",
      "Import",
      "Action",
    ]) {
      expect(schemas[name], name).toMatchObject({ type: "object" });
    }
    // One of the event registry's types each (test/events/registry.test.ts).
    expect(schemas.Event.oneOf.length).toBeGreaterThan(1);
    expect(schemas.Member.properties.description).toBeDefined();
    expect(schemas.Member.properties.status.enum).toContain("archived");
    expect(schemas.MemberPage).toEqual({
      type: "object",
      properties: {
        data: { type: "array", items: { $ref: "#/components/schemas/Member" } },
        nextCursor: { anyOf: [{ type: "string" }, { type: "null" }] },
      },
      required: ["data", "nextCursor"],
    });
    const json = (operation: Operation, status: string) =>
      operation.responses[status]?.content?.["application/json"]?.schema;
    expect(json(doc.paths["/v1/members"].get, "200")).toEqual({ $ref: "#/components/schemas/MemberPage" });
    expect(json(doc.paths["/v1/members/{id}"].patch, "200")).toEqual({ $ref: "#/components/schemas/Member" });
    expect(json(doc.paths["/v1/labels"].get, "200")).toEqual({ $ref: "#/components/schemas/ListedLabelPage" });
    expect(json(doc.paths["/v1/roles/{key}"].patch, "200")).toEqual({ $ref: "#/components/schemas/Role" });
    expect(json(doc.paths["/v1/join-requests"].get, "200")).toEqual({ $ref: "#/components/schemas/JoinRequestPage" });
    expect(json(doc.paths["/v1/actions/{id}"].get, "200")).toEqual({ $ref: "#/components/schemas/Action" });
  });

  it("gives `limit` as an integer from 1 to 100, 50 unless sent, on every list", async () => {
    const limits = operations(await document()).flatMap(([, , operation]) =>
      (operation as unknown as { parameters: { name: string; schema: unknown }[] }).parameters.filter(
        (parameter) => parameter.name === "limit",
      ),
    );
    expect(limits.length).toBeGreaterThanOrEqual(8);
    for (const limit of limits) {
      expect(limit).toEqual({
        name: "limit",
        in: "query",
        schema: { type: "integer", minimum: 1, maximum: 100, default: 50 },
      });
    }
  });

  it("documents every operation's 4xx answers in the Error shape: credential, scope, body, query and path", async () => {
    const doc = await document();
    for (const [method, path, operation] of operations(doc)) {
      const statuses = Object.keys(operation.responses).filter((status) => status.startsWith("4"));
      expect(statuses.length, `${method} ${path}`).toBeGreaterThan(0);
      for (const status of statuses) {
        expect(
          operation.responses[status]?.content?.["application/json"]?.schema,
          `${method} ${path} ${status}`,
        ).toEqual(ERROR);
      }
    }
    const statuses = (method: string, path: string) => Object.keys(doc.paths[path][method].responses);
    expect(statuses("patch", "/v1/members/{id}")).toEqual(
      expect.arrayContaining(["400", "401", "403", "404", "409", "413", "415", "422"]),
    );
    expect(statuses("get", "/v1/members")).toEqual(expect.arrayContaining(["401", "403", "422"]));
    expect(statuses("post", "/v1/workspaces")).toEqual(expect.arrayContaining(["400", "401", "413", "415", "422"]));
    expect(statuses("post", "/v1/auth/login")).toEqual(expect.arrayContaining(["400", "422", "429"]));
    expect(doc.paths["/v1/members/{id}"].patch.responses["403"].description).toMatch(
      /members:write.*forbidden_by_condition/,
    );
  });

  it("documents x-d1-bookmark: a header parameter of every operation, and a header of the answers that carry it", async () => {
    const doc = await document();
    expect(doc.components.parameters.D1Bookmark).toMatchObject({
      name: "x-d1-bookmark",
      in: "header",
      required: false,
    });
    expect(doc.components.headers.D1Bookmark).toMatchObject({ description: expect.any(String) });
    const header = { "x-d1-bookmark": { $ref: "#/components/headers/D1Bookmark" } };
    for (const [method, path, operation] of operations(doc)) {
      const { parameters, security, responses } = operation as Operation & {
        parameters: unknown[];
        security: unknown[];
      };
      expect(parameters, `${method} ${path}`).toContainEqual({ $ref: "#/components/parameters/D1Bookmark" });
      const signsIn = path === "/v1/auth/verify" || path === "/v1/invitations/accept";
      for (const [status, response] of Object.entries(responses).filter(([status]) => status.startsWith("2"))) {
        const headers = (response as { headers?: unknown }).headers;
        // (A POST's answers may carry Idempotent-Replayed too: test/idempotency.)
        if (security.length > 0 || signsIn) expect(headers, `${method} ${path} ${status}`).toMatchObject(header);
        else expect(Object.keys(headers ?? {}), `${method} ${path} ${status}`).not.toContain("x-d1-bookmark");
      }
    }
    expect(doc.paths["/v1/members"].get.responses["400"].description).toMatch(/invalid_bookmark/);
  });
});

/** Every operation of the document as [method, path, operation]. */
function operations(doc: { paths: Record<string, Record<string, Operation>> }) {
  return Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => [method, path, operation] as const),
  );
}
