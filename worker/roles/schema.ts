import * as v from "valibot";
import { Timestamp } from "../lib/fields";
import { MEMBER_TYPES, ScopesSchema } from "./scopes";

const Key = v.pipe(
  v.string(),
  v.regex(/^[a-z][a-z0-9_-]{0,63}$/, "Lowercase letters, digits, _ and -, from a letter."),
);
const RoleName = v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(100));
// CEL conditions arrive with the access-control issue; until then a role cannot carry one.
const NoCondition = v.optional(v.pipe(v.null(), v.description("Not supported yet: must be null or absent.")));

export const CreateRole = v.strictObject({
  key: Key,
  name: RoleName,
  type: v.picklist(MEMBER_TYPES),
  scopes: ScopesSchema,
  condition: NoCondition,
});

export const PatchRole = v.strictObject({
  name: v.optional(RoleName),
  type: v.optional(v.picklist(MEMBER_TYPES)),
  scopes: v.optional(ScopesSchema),
  condition: NoCondition,
});

export const RoleJson = v.object({
  key: v.string(),
  name: v.string(),
  type: v.picklist(MEMBER_TYPES),
  scopes: v.array(v.string()),
  condition: v.nullable(v.string()),
  builtIn: v.boolean(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
