import { type ConversionConfig, type JsonSchema, toJsonSchema, toJsonSchemaDefs } from "@valibot/to-json-schema";
import type * as v from "valibot";
import { Limit, PAGE_SIZE } from "../lib/fields";
import { COMPONENTS } from "./components";

/**
 * OpenAPI 3.1 takes JSON Schema 2020-12 as it is (`null` a type, `$ref` beside other
 * keywords), which 3.0's `nullable` could not say of a union or a reference.
 */
const CONFIG: ConversionConfig = {
  target: "draft-2020-12",
  errorMode: "ignore",
  overrideRef: ({ referenceId }) => `#/components/schemas/${referenceId}`,
  // Query parameters travel as text: `limit` is documented as the integer it is read as.
  overrideSchema: ({ valibotSchema }) => (valibotSchema === Limit ? { type: "integer", ...PAGE_SIZE } : undefined),
};

/**
 * A valibot schema as the document's JSON Schema, naming the shapes of COMPONENTS by
 * `$ref`: what a client sends (`input`: up to the first transformation, such as a single
 * label turned into a list) or what it gets (`output`).
 */
export function schemaOf(schema: v.GenericSchema, typeMode: "input" | "output"): JsonSchema {
  const config = { ...CONFIG, typeMode, definitions: COMPONENTS };
  const { $schema: _dialect, $defs: _components, ...json } = toJsonSchema(schema, config);
  return json;
}

/** `components.schemas`: each named shape (all of them answers), referring to the others by `$ref`. */
export const componentSchemas = () => toJsonSchemaDefs(COMPONENTS, { ...CONFIG, typeMode: "output" });
