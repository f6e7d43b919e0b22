import type { Context } from "hono";
import { validator } from "hono/validator";
import * as v from "valibot";
import { ApiError, invalidField, invalidFields } from "./errors";
import { DOC, type DocPart } from "./openapi-meta";

/** Parses with valibot; a failure becomes 422 `validation_failed` naming each field. */
export function parseOr422<S extends v.GenericSchema>(schema: S, value: unknown): v.InferOutput<S> {
  const result = v.safeParse(schema, value);
  if (result.success) return result.output;
  const issues = result.issues.map((issue) => ({
    path: v.getDotPath(issue) ?? "",
    message: issue.message,
  }));
  throw invalidFields(issues);
}

function withDoc<M extends object>(middleware: M, doc: DocPart): M {
  return Object.assign(middleware, { [DOC]: doc });
}

/**
 * The media types Hono's json validator parses (its own test, on the part before `;`).
 * For any other it hands over `{}` without reading the body, so e.g.
 * `application/json-seq` must stop here rather than pass as an empty edit.
 */
const isJson = (c: Context) =>
  /^application\/([\w.-]+\+)?json$/i.test((c.req.header("Content-Type") ?? "").split(";")[0]?.trim() ?? "");

/** Other content types answer 415. */
function requireJson(c: Context) {
  if (!isJson(c)) throw new ApiError(415, "unsupported_media_type", "Send the body as application/json.");
}

/** A parsed JSON body checked against an object schema. */
function parseObject<S extends v.GenericSchema>(schema: S, value: unknown): v.InferOutput<S> {
  // valibot's object schemas accept arrays (they are objects): `[]` would pass as `{}`.
  if (Array.isArray(value)) {
    throw invalidField("", "Send a JSON object.");
  }
  return parseOr422(schema, value);
}

/** Validates a JSON body; other content types answer 415. */
export function body<S extends v.GenericSchema>(schema: S) {
  const middleware = validator("json", (value, c): v.InferOutput<S> => {
    requireJson(c);
    return parseObject(schema, value);
  });
  return withDoc(middleware, { body: schema });
}

/**
 * A body that may be left out, read in the handler: an empty one reads as `{}`, any
 * other gets the checks of `body` (Hono's json validator answers 400 to an empty body).
 */
export async function optionalBody<S extends v.GenericSchema>(c: Context, schema: S): Promise<v.InferOutput<S>> {
  const text = await c.req.text();
  if (text.trim() === "") return parseOr422(schema, {});
  requireJson(c);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ApiError(400, "invalid_json", "The body is not valid JSON.");
  }
  return parseObject(schema, value);
}

/**
 * Validates the query string; a repeated parameter arrives as an array. A blank parameter
 * reads as left out (api.md writes lists as `?status=&type=&…`, and a form's empty
 * search box sends `q=`).
 */
export function query<S extends v.GenericSchema>(schema: S) {
  const middleware = validator("query", (value): v.InferOutput<S> => parseOr422(schema, withoutBlanks(value)));
  return withDoc(middleware, { query: schema });
}

function withoutBlanks(params: Record<string, string | string[]>) {
  const kept = Object.entries(params).flatMap(([name, value]) => {
    const values = (Array.isArray(value) ? value : [value]).filter((one) => one.trim() !== "");
    if (values.length === 0) return [];
    return [[name, Array.isArray(value) ? values : values[0]] as const];
  });
  return Object.fromEntries(kept);
}
