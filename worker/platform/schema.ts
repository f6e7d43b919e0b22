import * as v from "valibot";
import { ApiKeyJson } from "../api-keys/schema";
import { Email, Name, Slug } from "../lib/fields";
import { MemberJson } from "../members/schema";
import { ShardIndex } from "../shards/schema";
import { DEFAULT_RATE_LIMIT_PER_MINUTE } from "./table";

/** Requests a minute each credential may make. */
const RateLimitPerMinute = v.pipe(
  v.number(),
  v.integer("Enter a whole number of requests per minute"),
  v.minValue(1, "Allow at least 1 request per minute"),
  v.maxValue(100_000, "Allow at most 100000 requests per minute"),
  v.description(
    `Requests per minute each credential (each API key, each session) may make to /v1; beyond it, 429 with Retry-After. Default ${DEFAULT_RATE_LIMIT_PER_MINUTE}.`,
  ),
);

/** Days events are kept; null keeps them forever. */
const EventRetentionDays = v.pipe(
  v.nullable(
    v.pipe(
      v.number(),
      v.integer("Enter a whole number of days"),
      v.minValue(1, "Keep events at least 1 day"),
      v.maxValue(3650, "Keep events at most 3650 days"),
    ),
  ),
  v.description(
    "Days the workspace's events are kept (1 to 3650); null, the default, keeps them forever. An hourly sweep deletes older events, but never the log's latest event nor one an action has yet to run for or a pending delivery needs. GET /v1/events then starts at the oldest kept event; a live socket resuming from before it gets a `reset` message.",
  ),
);

export const CreateWorkspace = v.strictObject({
  name: Name,
  slug: Slug,
  owner: v.strictObject({ name: Name, email: Email }),
  allowJoinRequests: v.optional(v.boolean(), false),
  rateLimitPerMinute: v.optional(RateLimitPerMinute, DEFAULT_RATE_LIMIT_PER_MINUTE),
  eventRetentionDays: v.optional(EventRetentionDays, null),
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
  rateLimitPerMinute: v.optional(RateLimitPerMinute),
  eventRetentionDays: v.optional(EventRetentionDays),
});

export const WorkspaceJson = v.object({
  id: v.string(),
  slug: v.string(),
  name: v.string(),
  allowJoinRequests: v.boolean(),
  rateLimitPerMinute: RateLimitPerMinute,
  eventRetentionDays: EventRetentionDays,
  shard: v.pipe(v.number(), v.description("The shard holding the workspace's rows (GET /v1/platform/shards)")),
});

export const CreatedWorkspace = v.object({
  workspace: WorkspaceJson,
  owner: MemberJson,
  apiKey: v.pipe(v.string(), v.description("The owner's API key, shown once.")),
  apiKeyInfo: ApiKeyJson,
});
