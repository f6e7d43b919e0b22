import { toJsonSchema } from "@valibot/to-json-schema";
import type { Hono } from "hono";
import type * as v from "valibot";
import { DOC, type DocPart } from "../lib/openapi-meta";
import { ErrorJson } from "./error-schema";

const schemaOf = (schema: v.GenericSchema) => toJsonSchema(schema, { errorMode: "ignore", target: "openapi-3.0" });
const json = (schema: v.GenericSchema) => ({ "application/json": { schema: schemaOf(schema) } });

function docOf(handler: unknown): DocPart | undefined {
  return typeof handler === "function" ? (handler as { [DOC]?: DocPart })[DOC] : undefined;
}

function parameters(path: string, query?: v.GenericSchema) {
  const inPath = [...path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({
    name,
    in: "path",
    required: true,
    schema: { type: "string" },
  }));
  const properties = query ? ((schemaOf(query) as { properties?: Record<string, unknown> }).properties ?? {}) : {};
  const inQuery = Object.entries(properties).map(([name, schema]) => ({ name, in: "query", schema }));
  return [...inPath, ...inQuery];
}

function operation(path: string, doc: DocPart) {
  const security =
    doc.auth === "public" ? [] : doc.auth === "platform" ? [{ platformToken: [] }] : [{ apiKey: [doc.auth] }];
  const responses: Record<string, unknown> = {};
  for (const [status, response] of Object.entries(doc.responses ?? {})) {
    if (!response) continue;
    responses[status] = {
      description: response.description,
      ...(response.schema && { content: json(response.schema) }),
    };
  }
  responses.default = { description: "An error in the contract's shape", content: json(ErrorJson) };
  return {
    summary: doc.summary,
    ...(doc.description && { description: doc.description }),
    tags: doc.tags,
    ...(doc.auth !== "public" && doc.auth !== "platform" && { "x-required-scope": doc.auth }),
    security,
    parameters: parameters(path, doc.query),
    ...(doc.body && { requestBody: { required: !doc.bodyOptional, content: json(doc.body) } }),
    responses,
  };
}

/** The OpenAPI document, read off the routes' own validators and declarations. */
export function generateOpenApi(app: Hono<never>) {
  const docs = new Map<string, DocPart>();
  for (const r of app.routes) {
    // Middleware added with `use` is listed under the method ALL; every other entry is
    // part of a route, and a route declared without `route()` (e.g. /healthz) is public.
    if (r.method === "ALL") continue;
    const path = r.path.replace(/:(\w+)/g, "{$1}").replace(/\/$/, "") || "/";
    const key = `${r.method.toLowerCase()} ${path}`;
    docs.set(key, { auth: "public", ...docs.get(key), ...docOf(r.handler) });
  }
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [key, doc] of docs) {
    const [method = "get", path = "/"] = key.split(" ");
    paths[path] = { ...paths[path], [method]: operation(path, doc) };
  }
  return {
    openapi: "3.0.3",
    info: { title: "Live workspace members", version: "1.0.0" },
    components: {
      securitySchemes: {
        apiKey: { type: "http", scheme: "bearer", description: "An API key; the scope each route needs is listed." },
        platformToken: { type: "http", scheme: "bearer", description: "The PLATFORM_TOKEN secret." },
      },
    },
    paths,
  };
}
