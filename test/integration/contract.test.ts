import { readFileSync } from "node:fs";
import SwaggerParser from "@apidevtools/swagger-parser";
import { lintFromString, loadConfig } from "@redocly/openapi-core";
import { Ajv2020 } from "ajv/dist/2020";
import addFormats from "ajv-formats";
import createClient from "openapi-fetch";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openApiTypes } from "../../scripts/openapi.mjs";
import type { components, paths } from "../../web/src/app/openapi";
import { type DevServer, startDevServer } from "./dev-server";

/**
 * The contract as clients meet it: the document a real `wrangler dev` serves, read by
 * swagger-parser, redocly and openapi-typescript, and the API driven through openapi-fetch
 * typed by what openapi-typescript made of it (web/src/app/openapi.d.ts, which
 * `npm run build:web` generates and `npm test` builds first).
 */
let server: DevServer;
let served: Record<string, unknown>;

beforeAll(async () => {
  server = await startDevServer();
  const res = await fetch(`${server.url}/openapi.json`);
  expect(res.status).toBe(200);
  served = await res.json();
}, 120_000);

afterAll(async () => {
  await server?.stop();
});

/** A check that `body` is what the document says `method path` answers with `status`. */
function answers(method: string, path: string, status: number, body: unknown) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema(served, "openapi.json");
  const pointer = ["paths", path, method, "responses", String(status), "content", "application/json", "schema"]
    .map((token) => token.replaceAll("~", "~0").replaceAll("/", "~1"))
    .join("/");
  const validate = ajv.compile({ $ref: `openapi.json#/${encodeURI(pointer)}` });
  expect(validate(body) ? [] : validate.errors, `${method} ${path} ${status}`).toEqual([]);
}

describe("GET /openapi.json, read by the tools clients use", () => {
  it("is a valid OpenAPI document to swagger-parser", async () => {
    // It takes the document apart as it checks it: give it a copy.
    await expect(SwaggerParser.validate(structuredClone(served) as never)).resolves.toBeTruthy();
  });

  it("draws no error and no warning from redocly's recommended rules (as redocly.yaml configures them)", async () => {
    const config = await loadConfig({ configPath: "redocly.yaml" });
    const problems = await lintFromString({ source: JSON.stringify(served), absoluteRef: "openapi.json", config });
    const found = problems.map((p) => `${p.severity} ${p.ruleId} at ${p.location[0]?.pointer}: ${p.message}`);
    expect(found).toEqual([]);
  });

  it("gives openapi-typescript the very types the admin view and this test are compiled against", async () => {
    expect(await openApiTypes(served)).toBe(readFileSync("web/src/app/openapi.d.ts", "utf8"));
  });
});

describe("the API through openapi-fetch, typed by the generated types", () => {
  it("creates, lists and patches a member, each answer the shape the document names", async () => {
    const platform = createClient<paths>({
      baseUrl: server.url,
      headers: { Authorization: `Bearer ${server.platformToken}` },
    });
    const workspace = await platform.POST("/v1/workspaces", {
      body: { name: "Contract", slug: "contract", owner: { name: "Olive", email: "olive@contract.test" } },
    });
    expect(workspace.response.status).toBe(201);
    answers("post", "/v1/workspaces", 201, workspace.data);
    const client = createClient<paths>({
      baseUrl: server.url,
      headers: { Authorization: `Bearer ${workspace.data?.apiKey}` },
    });

    const label = await client.POST("/v1/labels", { body: { name: "VIP", slug: "vip" } });
    expect(label.error).toBeUndefined();
    answers("post", "/v1/labels", 201, label.data);

    const created = await client.POST("/v1/members", {
      body: { name: "Ada Lovelace", email: "Ada@Example.com", labels: ["vip"] },
    });
    expect(created.error).toBeUndefined();
    expect(created.response.status).toBe(201);
    answers("post", "/v1/members", 201, created.data);
    const ada: components["schemas"]["Member"] | undefined = created.data;
    expect(ada).toMatchObject({ email: "ada@example.com", status: "active", labels: ["vip"], description: null });
    if (!ada) return;

    // `limit` is an integer in the document, so in the generated types too.
    const listed = await client.GET("/v1/members", { params: { query: { q: "ada", label: "vip", limit: 1 } } });
    expect(listed.response.status).toBe(200);
    answers("get", "/v1/members", 200, listed.data);
    expect(listed.data?.data.map((member) => member.id)).toEqual([ada.id]);

    const patched = await client.PATCH("/v1/members/{id}", {
      params: { path: { id: ada.id } },
      body: { description: "Wrote the first program" },
    });
    expect(patched.response.status).toBe(200);
    answers("patch", "/v1/members/{id}", 200, patched.data);
    const description: string | null | undefined = patched.data?.description;
    expect(description).toBe("Wrote the first program");

    const refused = await client.PATCH("/v1/members/{id}", {
      params: { path: { id: ada.id } },
      body: { name: "" },
    });
    expect(refused.response.status).toBe(422);
    answers("patch", "/v1/members/{id}", 422, refused.error);
    expect(refused.error?.error.code).toBe("validation_failed");
  });
});
