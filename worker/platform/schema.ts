import * as v from "valibot";
import { ApiKeyJson } from "../api-keys/schema";
import { Email, Name, Slug } from "../lib/fields";
import { MemberJson } from "../members/schema";

export const CreateWorkspace = v.strictObject({
  name: Name,
  slug: Slug,
  owner: v.strictObject({ name: Name, email: Email }),
  allowJoinRequests: v.optional(v.boolean(), false),
});

export const PatchWorkspace = v.strictObject({
  name: v.optional(Name),
  allowJoinRequests: v.optional(v.boolean()),
});

export const WorkspaceJson = v.object({
  id: v.string(),
  slug: v.string(),
  name: v.string(),
  allowJoinRequests: v.boolean(),
});

export const CreatedWorkspace = v.object({
  workspace: WorkspaceJson,
  owner: MemberJson,
  apiKey: v.pipe(v.string(), v.description("The owner's API key, shown once.")),
  apiKeyInfo: ApiKeyJson,
});
