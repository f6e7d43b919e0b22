import { describe, expect, it } from "vitest";
import { ERROR_CODE_LIST, ERROR_CODES } from "../../worker/lib/error-codes";
import { ApiError } from "../../worker/lib/errors";
import { addMember, call, newWorkspace } from "../helpers";

type Schema = { $ref?: string; properties?: Record<string, Schema>; enum?: string[] };

/** A schema of the document, following a `$ref` into its components. */
function resolved(doc: { components?: { schemas?: Record<string, Schema> } }, schema: Schema): Schema {
  const name = schema.$ref?.replace("#/components/schemas/", "");
  return name ? (doc.components?.schemas?.[name] ?? {}) : schema;
}

describe("error codes", () => {
  it("are listed in the API reference, so a client can switch over every code it may be answered", async () => {
    const doc = (await call("GET", "/openapi.json")).body;
    const errorSchema = resolved(
      doc,
      doc.paths["/v1/members"].post.responses.default.content["application/json"].schema,
    );
    const error = resolved(doc, errorSchema.properties?.error ?? {});
    expect(new Set(error.properties?.code?.enum)).toEqual(new Set(ERROR_CODE_LIST));
  });

  it("are answered with the status the registry gives them", async () => {
    const ws = await newWorkspace();
    await addMember(ws, { email: "taken@x.test" });
    const res = await call("POST", "/v1/members", { key: ws.key, body: { name: "Again", email: "taken@x.test" } });
    expect(res.body.error.code).toBe("duplicate");
    expect(res.status).toBe(ERROR_CODES.duplicate.status);
    const missing = await call("GET", "/v1/no-such-route", { key: ws.key });
    expect(missing.status).toBe(ERROR_CODES.not_found.status);
    expect(missing.body).toEqual({ error: { code: "not_found", message: "No such route." } });
  });

  it("take their message from the registry when the thrower gives none", () => {
    expect(new ApiError(404, "not_found").message).toBe(ERROR_CODES.not_found.meaning);
    expect(ApiError.of("change_expired").status).toBe(410);
  });

  it("refuse to compile an unknown code, or a known one with another status", () => {
    // Checked by tsc (`npm run check`), never run: each line must fail to compile.
    const wrong = [
      // @ts-expect-error: no such code in worker/lib/error-codes.ts
      () => new ApiError(409, "made_up_code"),
      // @ts-expect-error: duplicate is always a 409
      () => new ApiError(400, "duplicate"),
    ];
    expect(wrong).toHaveLength(2);
  });
});
