import * as v from "valibot";
import { ApiKeyJson } from "../api-keys/schema";
import { Email, Name, Slug } from "../lib/fields";
import { MemberJson } from "../members/schema";
import { ShardIndex } from "../shards/schema";

export const CreateWorkspace = v.strictObject({
  name: Name,
  slug: Slug,
  owner: v.strictObject({ name: Name, email: Email }),
  allowJoinRequests: v.optional(v.boolean(), false),
  shard: v.optional(
    v.pipe(
      ShardIndex,
      v.description("The shard to put it on (422 when there is none); else the one with the most room"),
    ),
  ),
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
  shard: v.pipe(v.number(), v.description("The shard holding the workspace's rows (GET /v1/platform/shards)")),
});

export const CreatedWorkspace = v.object({
  workspace: WorkspaceJson,
  owner: MemberJson,
  apiKey: v.pipe(v.string(), v.description("The owner's API key, shown once.")),
  apiKeyInfo: ApiKeyJson,
});
