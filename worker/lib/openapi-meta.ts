import type * as v from "valibot";

/** Marks a middleware with what it contributes to its route's OpenAPI operation. */
export const DOC = Symbol.for("live-members.openapi");

export type DocPart = {
  summary?: string;
  /** Longer prose for the operation: rules a client must know (CommonMark). */
  description?: string;
  tags?: string[];
  /** Who may call: a scope, "platform" (the platform token) or "public" (worker/auth/route.ts). */
  auth?: string;
  body?: v.GenericSchema;
  /** The body may be left out (`optionalBody`): a bare POST takes the schema's defaults. */
  bodyOptional?: boolean;
  query?: v.GenericSchema;
  /**
   * A public route that signs the caller in (sets the session cookie): its answer carries
   * `x-d1-bookmark` though it is public, so the next request finds the new session even on
   * a replica that lags (worker/lib/d1-sessions.ts).
   */
  signsIn?: true;
  /**
   * A POST that does not take `Idempotency-Key` (worker/idempotency/keys.ts): an upload that
   * streams, whose body is not read whole and whose answer may be a stream.
   */
  notIdempotent?: true;
  /** Left out of the document: not part of the contract (the liveness probe). */
  undocumented?: true;
  /** `contentType`: a body that is not JSON, or several (the route picks one, e.g. by a `format` query). */
  responses?: Partial<
    Record<number, { description: string; schema?: v.GenericSchema; contentType?: string | readonly string[] }>
  >;
};
