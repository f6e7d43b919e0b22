import * as v from "valibot";
import { Timestamp } from "../lib/fields";
import { ScopesSchema } from "../roles/scopes";

export const CreateApiKey = v.strictObject({
  name: v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(100)),
  scopes: v.optional(ScopesSchema),
  expiresInDays: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(365)), 90),
});

export const ApiKeyJson = v.object({
  id: v.string(),
  name: v.string(),
  memberId: v.string(),
  scopes: v.array(v.string()),
  expiresAt: Timestamp,
  createdAt: Timestamp,
});

export const CreatedApiKey = v.object({ ...ApiKeyJson.entries, key: v.pipe(v.string(), v.description("Shown once.")) });
