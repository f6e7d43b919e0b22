import type { DocPart } from "../lib/openapi-meta";

/** Whether an operation takes `Idempotency-Key`: as worker/auth/route.ts applies it. */
export const takesIdempotencyKey = (method: string, doc: DocPart) =>
  method === "post" && doc.auth !== undefined && doc.auth !== "public" && doc.notIdempotent !== true;

/** A POST that refuses `Idempotency-Key` with 400 (worker/idempotency/platform.ts): a public one, a streamed upload. */
const refusesIdempotencyKey = (method: string, doc: DocPart) =>
  method === "post" && doc.auth !== undefined && (doc.auth === "public" || doc.notIdempotent === true);

/** Whether an operation's answers tell a rate limit: every `/v1` one (worker/rate-limits/limit.ts). */
export const rateLimited = (path: string) => path.startsWith("/v1/");

/** What a 429 of the operation means: the counter its caller is held to (worker/auth/route.ts). */
function rateLimitRefusal(doc: DocPart): string {
  const client = "this client IP made its 600 requests of the minute without a valid credential";
  const counter =
    doc.auth === "public"
      ? "this client IP made its 600 requests of the minute to public routes and refusals"
      : doc.auth === "platform"
        ? `the platform token made its 6,000 requests of the minute, or ${client}`
        : `this credential made the workspace's \`rateLimitPerMinute\` requests this minute, or ${client}`;
  return `\`rate_limited\`: ${counter}; \`Retry-After\` says when to try again`;
}

/**
 * The 4xx answers an operation gives by how it is declared: who may call it (`route`'s
 * auth), whether it reads a body or a query (`body()`, `query()`), and ids in its path.
 * A route declares the rest (409, 410, 429, …) in its own `responses`.
 */
export function derivedErrors(method: string, path: string, doc: DocPart): Record<number, string> {
  const errors: Record<number, string> = {};
  if (doc.auth === "platform") {
    errors[401] = "`unauthorized`: the platform token is missing or wrong";
  } else if (doc.auth && doc.auth !== "public") {
    errors[401] = "`unauthorized`: no valid API key or session";
    errors[403] =
      `\`forbidden\`: the caller's scopes lack ${doc.auth}` +
      (method === "get" ? "" : "; `csrf_rejected`: a session's request from a page of another site");
  }
  // Every request may send one (worker/lib/d1-sessions.ts).
  errors[400] = "`invalid_bookmark`: the `x-d1-bookmark` header is not a bookmark";
  if (doc.body) {
    errors[400] = `\`invalid_json\`: the body is not valid JSON; ${errors[400]}`;
    errors[413] = "`payload_too_large`: the body is over the size limit";
    errors[415] = "`unsupported_media_type`: the body is not JSON";
  }
  if (doc.body || doc.query) errors[422] = "`validation_failed`: fields that break the schema, each named in `issues`";
  // Idempotency-Key (worker/idempotency/keys.ts): the same rule as the document's parameter.
  if (takesIdempotencyKey(method, doc)) {
    errors[400] = `${errors[400]}; \`invalid_idempotency_key\`: Idempotency-Key is not 1 to 255 characters`;
    errors[409] = "`idempotency_in_progress`: a request with this Idempotency-Key is still running";
    const mismatch = "`idempotency_mismatch`: this Idempotency-Key was used with another request";
    errors[422] = errors[422] ? `${errors[422]}; ${mismatch}` : mismatch;
  }
  if (refusesIdempotencyKey(method, doc)) {
    errors[400] = `${errors[400]}; \`idempotency_not_supported\`: this route does not take Idempotency-Key`;
  }
  if (rateLimited(path)) errors[429] = rateLimitRefusal(doc);
  if (path.includes("{")) errors[404] = "`not_found`: nothing by that name here";
  return errors;
}

/**
 * The route's own description of a status replaces the derived one, but a 403 it declares
 * (a role condition's refusal) comes on top of the scope check, a 400 on top of the
 * malformed bookmark every route may answer, and a 409 or 422 on top of Idempotency-Key's.
 */
export function errorDescription(status: number, derived?: string, declared?: string): string | undefined {
  if ([400, 403, 409, 422, 429].includes(status) && derived && declared) return `${derived}; ${declared}`;
  return declared ?? derived;
}
