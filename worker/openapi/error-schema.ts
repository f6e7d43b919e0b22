import * as v from "valibot";
import { ERROR_CODE_LIST } from "../lib/error-codes";

export const ErrorJson = v.object({
  error: v.object({
    code: v.picklist(ERROR_CODE_LIST),
    message: v.string(),
    issues: v.optional(v.array(v.object({ path: v.string(), message: v.string() }))),
    existingId: v.optional(v.string()),
  }),
});
