import type { Hono } from "hono";
import type * as v from "valibot";
import { IDEMPOTENCY_HEADER, REPLAYED_HEADER } from "../idempotency/keys";
import { BOOKMARK_FORMAT, BOOKMARK_HEADER } from "../lib/d1-sessions";
import { DOC, type DocPart } from "../lib/openapi-meta";
import { derivedErrors, errorDescription, rateLimited, takesIdempotencyKey } from "./error-responses";
import { operationId } from "./operation-ids";
import { componentSchemas, schemaOf } from "./schemas";

type Response = NonNullable<DocPart["responses"]>[number];

const ERROR = { "application/json": { schema: { $ref: "#/components/schemas/Error" } } };

/**
 * `x-d1-bookmark` (worker/lib/d1-sessions.ts): every operation takes it, and the answers
 * of those whose caller is authenticated, or signed in, carry it.
 */
const BOOKMARK = {
  parameter: {
    name: BOOKMARK_HEADER,
    in: "header",
    required: false,
    description:
      "A bookmark an earlier answer carried: this request then reads at least what that answer saw, though a " +
      "replica of the database answers it. Without one a read may come from a replica that lags a little; " +
      "writes always start on the primary. A value that is not a bookmark is refused (400 `invalid_bookmark`).",
    schema: { type: "string", ...BOOKMARK_FORMAT },
  },
  header: {
    description:
      "The database's point this answer saw (a D1 bookmark; they sort oldest to newest as strings). Send it back " +
      "as the `x-d1-bookmark` request header to read your own writes. Given to authenticated callers and with " +
      "a sign-in; never to other public calls, where it would tell whether the request wrote.",
    schema: { type: "string" },
  },
};
const answersBookmark = (doc: DocPart) => doc.auth !== "public" || doc.signsIn === true;

/** `Idempotency-Key` (worker/idempotency/keys.ts): every POST of an authenticated caller or the platform token takes it. */
const IDEMPOTENCY = {
  parameter: {
    name: IDEMPOTENCY_HEADER,
    in: "header",
    required: false,
    description:
      "A key of your choosing (1-255 characters, e.g. a UUID) that makes a retry safe, as Stripe's: the same " +
      "key with the same request within 24 hours answers the first response again (status and body, with " +
      "`Idempotent-Replayed: true`) and changes nothing; with another request, 422 `idempotency_mismatch`; " +
      "while the first is still running, 409 `idempotency_in_progress`. Keys belong to the credential (an API " +
      "key, a session, or the platform token) and are stored only hashed. A 5xx, or a body that failed validation, is not kept: " +
      "retry it with the same key. Public POSTs (no credential to scope a key to) and the streamed import upload " +
      "refuse it with 400 `idempotency_not_supported`.",
    schema: { type: "string", minLength: 1, maxLength: 255 },
  },
  header: {
    description: "`true` when this is the kept answer to an earlier request with the same `Idempotency-Key`.",
    schema: { type: "string", enum: ["true"] },
  },
};

/** RateLimit-Policy and RateLimit (worker/rate-limits/limit.ts): on every `/v1` answer but a WebSocket's 101. */
const RATE_LIMIT_HEADERS = {
  "RateLimit-Policy": {
    description:
      'The quota policy that counted the request (draft-ietf-httpapi-ratelimit-headers-11): `"<policy>";q=<requests>;w=60`. ' +
      "`credential`: the workspace's `rateLimitPerMinute` for each API key and each session; `platform`: the " +
      "platform token's 6,000; `client`: each client IP's 600 for public routes and for answers before a " +
      "credential is accepted (a 401); on a 429 of a public route's flood protection, `flood-ip` (10 a " +
      "minute per IP and route), `flood-target` (5 per email or link) or `flood-workspace` (100 join requests per workspace).",
    schema: { type: "string" },
  },
  RateLimit: {
    description:
      'What is left of that quota (draft-ietf-httpapi-ratelimit-headers-11): `"<policy>";r=<remaining>;t=<seconds until the window resets>`.',
    schema: { type: "string" },
  },
  "Retry-After": { description: "Seconds until the request may be made again.", schema: { type: "integer" } },
};
const rateLimitHeaders = (path: string, status: number) =>
  rateLimited(path) && status !== 101
    ? {
        "RateLimit-Policy": { $ref: "#/components/headers/RateLimitPolicy" },
        RateLimit: { $ref: "#/components/headers/RateLimit" },
        ...(status === 429 && { "Retry-After": { $ref: "#/components/headers/RetryAfter" } }),
      }
    : {};

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
  const { properties = {}, required = [] } = query ? schemaOf(query, "input") : {};
  const inQuery = Object.entries(properties).map(([name, schema]) => ({
    name,
    in: "query",
    ...(required.includes(name) && { required: true }),
    schema,
  }));
  return [...inPath, ...inQuery];
}

function content(response: Response) {
  if (!response) return {};
  const types = [response.contentType ?? "application/json"].flat();
  const schema = response.schema ? schemaOf(response.schema, "output") : { type: "string" };
  if (!response.schema && !response.contentType) return {};
  return { content: Object.fromEntries(types.map((type) => [type, { schema }])) };
}

/** The route's own responses, and the 4xx its declaration implies, all errors in the Error shape. */
function responses(method: string, path: string, doc: DocPart) {
  const declared = doc.responses ?? {};
  const derived = derivedErrors(method, path, doc);
  const statuses = [...new Set([...Object.keys(declared), ...Object.keys(derived)].map(Number))].sort((a, b) => a - b);
  const out: Record<string, unknown> = {};
  for (const status of statuses) {
    const response = declared[status];
    out[status] =
      status >= 400
        ? {
            description: errorDescription(status, derived[status], response?.description),
            ...(rateLimited(path) && { headers: rateLimitHeaders(path, status) }),
            content: ERROR,
          }
        : {
            description: response?.description,
            ...((answersBookmark(doc) || rateLimited(path)) && {
              headers: {
                ...(answersBookmark(doc) && { [BOOKMARK_HEADER]: { $ref: "#/components/headers/D1Bookmark" } }),
                ...rateLimitHeaders(path, status),
                ...(takesIdempotencyKey(method, doc) && {
                  [REPLAYED_HEADER]: { $ref: "#/components/headers/IdempotentReplayed" },
                }),
              },
            }),
            ...content(response),
          };
  }
  out.default = {
    description: "`internal`: an unexpected error; its message has a request id to report",
    content: ERROR,
  };
  return out;
}

function operation(id: string, method: string, path: string, doc: DocPart) {
  const security =
    doc.auth === "public" ? [] : doc.auth === "platform" ? [{ platformToken: [] }] : [{ apiKey: [doc.auth] }];
  return {
    operationId: id,
    summary: doc.summary,
    ...(doc.description && { description: doc.description }),
    tags: doc.tags,
    ...(doc.auth !== "public" && doc.auth !== "platform" && { "x-required-scope": doc.auth }),
    security,
    parameters: [
      ...parameters(path, doc.query),
      { $ref: "#/components/parameters/D1Bookmark" },
      ...(takesIdempotencyKey(method, doc) ? [{ $ref: "#/components/parameters/IdempotencyKey" }] : []),
    ],
    ...(doc.body && {
      requestBody: {
        required: !doc.bodyOptional,
        content: { "application/json": { schema: schemaOf(doc.body, "input") } },
      },
    }),
    responses: responses(method, path, doc),
  };
}

/** The OpenAPI document, read off the routes' own validators and declarations. */
export function generateOpenApi(app: Hono<never>) {
  const docs = new Map<string, DocPart>();
  for (const r of app.routes) {
    // Middleware added with `use` is listed under the method ALL; every other entry is
    // part of a route, and a route declared without `route()` is public.
    if (r.method === "ALL") continue;
    const path = r.path.replace(/:(\w+)/g, "{$1}").replace(/\/$/, "") || "/";
    const key = `${r.method.toLowerCase()} ${path}`;
    docs.set(key, { auth: "public", ...docs.get(key), ...docOf(r.handler) });
  }
  const paths: Record<string, Record<string, unknown>> = {};
  const ids = new Map<string, string>();
  for (const [key, doc] of docs) {
    if (doc.undocumented) continue;
    const [method = "get", path = "/"] = key.split(" ");
    const id = operationId(method, path);
    // Generated clients name their methods by these: two alike would make one unreachable.
    if (ids.has(id)) throw new Error(`Operation id ${id} names both ${ids.get(id)} and ${key}`);
    ids.set(id, key);
    paths[path] = { ...paths[path], [method]: operation(id, method, path, doc) };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Live workspace members",
      version: "1.0.0",
      description:
        "Members of a workspace, their labels, roles, invitations and join requests, changed over REST and " +
        "watched live over a WebSocket. Errors share one shape (`Error`); lists are keyset pages (`nextCursor`).",
    },
    servers: [{ url: "/", description: "The origin serving this document" }],
    paths,
    components: {
      schemas: componentSchemas(),
      parameters: { D1Bookmark: BOOKMARK.parameter, IdempotencyKey: IDEMPOTENCY.parameter },
      headers: {
        D1Bookmark: BOOKMARK.header,
        IdempotentReplayed: IDEMPOTENCY.header,
        RateLimitPolicy: RATE_LIMIT_HEADERS["RateLimit-Policy"],
        RateLimit: RATE_LIMIT_HEADERS.RateLimit,
        RetryAfter: RATE_LIMIT_HEADERS["Retry-After"],
      },
      securitySchemes: {
        apiKey: {
          type: "http",
          scheme: "bearer",
          description: "An API key; the scope each route needs is listed.",
        },
        platformToken: { type: "http", scheme: "bearer", description: "The PLATFORM_TOKEN secret." },
      },
    },
  };
}
