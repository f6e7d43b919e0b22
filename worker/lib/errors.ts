import { DrizzleQueryError } from "drizzle-orm";
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ERROR_CODES, type ErrorCode, type StatusOf, statusOf } from "./error-codes";

/** A field's problem; a position (1-based line and column, 0-based offset) where it has one, e.g. in a CEL condition. */
export type Issue = { path: string; message: string; line?: number; column?: number; offset?: number };

type Extra = { issues?: Issue[]; existingId?: string };

/**
 * `new ApiError(status, code, message?, extra?, headers?)`: `code` one of ERROR_CODES and
 * `status` its own, so an unknown code or a wrong status does not compile. `headers` are
 * the answer's, e.g. a 429's `Retry-After`.
 */
type Args = {
  [C in ErrorCode]: [status: StatusOf<C>, code: C, message?: string, extra?: Extra, headers?: Record<string, string>];
}[ErrorCode];

/** An error the client caused or may act on; rendered in the contract's error shape. */
export class ApiError extends Error {
  readonly status: ContentfulStatusCode;
  readonly code: ErrorCode;
  readonly extra: Extra;
  readonly headers: Record<string, string>;

  constructor(...[status, code, message, extra = {}, headers = {}]: Args) {
    super(message ?? ERROR_CODES[code].meaning);
    this.status = status;
    this.code = code;
    this.extra = extra;
    this.headers = headers;
  }

  /** An error whose code is known only at run time (e.g. a refusal sent over RPC as data); its status is the code's. */
  static of(code: ErrorCode, message?: string, extra?: Extra) {
    return new ApiError(...([statusOf(code), code, message, extra] as Args));
  }
}

/** 422 validation_failed with the fields' issues, as the validators answer. */
export const invalidFields = (issues: { path: string; message: string }[]) =>
  new ApiError(422, "validation_failed", "The request has invalid fields.", { issues });

/** 422 validation_failed for one field. */
export const invalidField = (path: string, message: string) => invalidFields([{ path, message }]);

export const notFound = (what = "resource") => new ApiError(404, "not_found", `No such ${what}.`);

export function errorBody(err: ApiError) {
  return { error: { code: err.code, message: err.message, ...err.extra } };
}

/**
 * An error's stack for the log. Drizzle's message for a failed query ends with
 * "params: ..." (every bound value: token hashes, secrets, people's details), and the
 * stack repeats it; for such an error only the query, D1's reason and the frames are kept.
 */
export function errorForLog(err: unknown): string {
  if (!(err instanceof Error)) return withoutParams(String(err));
  const stack = err.stack ?? String(err);
  if (!(err instanceof DrizzleQueryError)) return withoutParams(stack);
  const head = `${err.name}: ${err.message}`;
  const frames = stack.startsWith(head) ? stack.slice(head.length) : "";
  return `${err.name}: Failed query: ${err.query}\ncause: ${String(err.cause)}${frames}`;
}

/**
 * Drizzle's "params: ..." in an error that is no longer a DrizzleQueryError: one thrown in
 * the workspace object reaches the Worker over RPC as a plain Error with the same message.
 * The values run to the stack's first frame, or to the end.
 */
const withoutParams = (text: string) => text.replace(/\nparams: [\s\S]*?(?=\n {4}at |$)/, "");

/** What went wrong, for a caller to read: for a failed query D1's reason, never the query's bound values. */
export const errorReason = (err: unknown) => withoutParams(String(err instanceof DrizzleQueryError ? err.cause : err));

/** Logs an unexpected error (without a query's bound values) under a new request id, which it answers. */
export function logUnexpected(err: unknown, path: string): string {
  const requestId = crypto.randomUUID();
  console.error(JSON.stringify({ requestId, path, error: errorForLog(err) }));
  return requestId;
}

export function handleError(err: Error, c: Context) {
  if (err instanceof ApiError) return c.json(errorBody(err), err.status, err.headers);
  const requestId = logUnexpected(err, c.req.path);
  return c.json(errorBody(new ApiError(500, "internal", `Something went wrong (request ${requestId}).`)), 500);
}
