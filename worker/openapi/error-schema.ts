import * as v from "valibot";

export const ErrorJson = v.object({
  error: v.object({
    code: v.string(),
    message: v.string(),
    issues: v.optional(v.array(v.object({ path: v.string(), message: v.string() }))),
    existingId: v.optional(v.string()),
  }),
});
