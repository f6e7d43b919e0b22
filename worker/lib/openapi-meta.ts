import type * as v from "valibot";
import type { Scope } from "../roles/scopes";

/** Marks a middleware with what it contributes to its route's OpenAPI operation. */
export const DOC = Symbol.for("live-members.openapi");

export type Auth = Scope | "platform" | "public";

export type DocPart = {
  summary?: string;
  /** Longer prose for the operation: rules a client must know (CommonMark). */
  description?: string;
  tags?: string[];
  auth?: Auth;
  body?: v.GenericSchema;
  /** The body may be left out (`optionalBody`): a bare POST takes the schema's defaults. */
  bodyOptional?: boolean;
  query?: v.GenericSchema;
  /** Left out of the document: not part of the contract (the liveness probe). */
  undocumented?: true;
  responses?: Partial<Record<number, { description: string; schema?: v.GenericSchema; contentType?: string }>>;
};
