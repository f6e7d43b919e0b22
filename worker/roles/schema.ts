import * as v from "valibot";
import { MAX_SOURCE } from "../cel/cel";
import { Timestamp } from "../lib/fields";
import { MAX_CONDITION_VALUES } from "../reach/to-sql";
import { MEMBER_TYPES, ScopesSchema } from "./scopes";

const Key = v.pipe(
  v.string(),
  v.regex(/^[a-z][a-z0-9_-]{0,63}$/, "Lowercase letters, digits, _ and -, from a letter."),
);
const RoleName = v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(100));
const RoleType = v.pipe(
  v.picklist(MEMBER_TYPES),
  v.description(
    "`team`, or `customer`: a customer's scopes reach only the member themselves (their record, its messages), " +
      "as if the role's condition were `member.id == actor.id`, and-ed with the role's own condition if it has one.",
  ),
);
const Condition = v.optional(
  v.nullable(
    v.pipe(
      v.string(),
      v.maxLength(MAX_SOURCE),
      v.description(
        "CEL over `member` and `actor` (bool): the role's scopes hold only for members it is true for. " +
          "Checked when saved (422 with line and column); it must translate to a query filter binding at most " +
          `${MAX_CONDITION_VALUES} constants (a list such as \`member.email in ["a@x.test", "b@x.test"]\` counts as one).`,
      ),
    ),
  ),
);

export const CreateRole = v.strictObject({
  key: Key,
  name: RoleName,
  type: RoleType,
  scopes: ScopesSchema,
  condition: Condition,
});

export const PatchRole = v.strictObject({
  name: v.optional(RoleName),
  type: v.optional(RoleType),
  scopes: v.optional(ScopesSchema),
  condition: Condition,
});

export const RoleJson = v.object({
  key: v.string(),
  name: v.string(),
  type: RoleType,
  scopes: v.array(v.string()),
  condition: v.nullable(v.string()),
  builtIn: v.boolean(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
