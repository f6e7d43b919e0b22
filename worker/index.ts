import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { secureHeaders } from "hono/secure-headers";
import { actionRoutes } from "./actions/routes";
import { sweepActions } from "./actions/sweep";
import { consumeWebhooks } from "./actions/webhooks";
import { expireQuietAnonymous } from "./anonymous/expire";
import { anonymousMembers } from "./anonymous/routes";
import { apiKeys } from "./api-keys/routes";
import type { AppEnv } from "./app";
import { route } from "./auth/route";
import { consumeBulk, resumeStalledBulk } from "./bulk/queue";
import { credentialChangeLinks, memberCredentialChanges } from "./credentials/routes";
import { sweepExpiredEvents } from "./events/retention";
import { eventRoutes } from "./events/routes";
import { sweepIdempotencyKeys } from "./idempotency/keys";
import { consumeImports } from "./imports/queue";
import { imports } from "./imports/routes";
import { invitations } from "./invitations/routes";
import { joinRequests, publicJoinRequests } from "./join-requests/routes";
import { labelDeletingRefusal } from "./labels/guard";
import { labels } from "./labels/routes";
import { limitBody } from "./lib/body-limit";
import { d1Metrics } from "./lib/d1-metrics";
import { d1Sessions } from "./lib/d1-sessions";
import { database } from "./lib/db";
import { ApiError, errorBody, handleError, notFound } from "./lib/errors";
import { poke, pokeAfterWrites } from "./live/poke";
import { live } from "./live/routes";
import { members } from "./members/routes";
import { settledMove } from "./moves/drive";
import { movedRefusal } from "./moves/refusal";
import { MOVED_WORKSPACE_HEADER, retriedAfterMove } from "./moves/retry";
import { moveRoutes, moveStatusRoutes } from "./moves/routes";
import { generateOpenApi } from "./openapi/generate";
import { outbox } from "./outbox/routes";
import { currentWorkspace, workspaces } from "./platform/routes";
import { twilioRoutes } from "./provider/routes";
import { rateLimitEveryAnswer } from "./rate-limits/limit";
import { conditionRefusal } from "./reach/reach";
import { roles } from "./roles/routes";
import { auth } from "./sessions/routes";
import { NO_SHARD_YET } from "./shards/context";
import { shardOf } from "./shards/directory";
import { shardRoutes } from "./shards/routes";
import { shardsOf } from "./shards/shards";
import { smsSettingsRoutes } from "./sms-settings/routes";
import { upgrades } from "./upgrades/routes";
import { runUpgrades } from "./upgrades/run";

const MAX_JSON_BODY = 1024 * 1024;
/** The hourly Cron Trigger of wrangler.toml; the other one sweeps actions' deliveries. */
const EXPIRE_CRON = "17 * * * *";
/** What each five-minute run gives an online schema upgrade (worker/upgrades), in bounded batches. */
const UPGRADE_BUDGET_MS = 60_000;

/**
 * The API answers JSON (and TwiML) only: nothing of it may run as a page or be framed.
 * The pages' own headers are in web/public/_headers (static assets skip the Worker).
 */
const API_HEADERS = secureHeaders({
  contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
  referrerPolicy: "no-referrer",
  xFrameOptions: "DENY",
});

const api = new Hono<AppEnv>()
  .use(API_HEADERS)
  .use(d1Metrics())
  .use(d1Sessions())
  // Each route sets the workspace's shard once it knows the workspace (worker/shards/context.ts).
  .use(async (c, next) => {
    c.set("db", NO_SHARD_YET);
    await next();
  })
  // Every `/v1` answer tells a rate limit: the route's counter, else the client IP's (worker/rate-limits).
  .use("/v1/*", rateLimitEveryAnswer)
  .use("/v1/*", pokeAfterWrites)
  // Before the body limit: uploads stream to R2 and are limited there (worker/imports/upload.ts).
  .route("/v1/imports", imports)
  .use("/webhooks/*", pokeAfterWrites)
  .use("/v1/*", limitBody(MAX_JSON_BODY))
  .get("/healthz", route({ summary: "Liveness probe", auth: "public", undocumented: true }), (c) =>
    c.json({ ok: true }),
  )
  .route("/v1/workspaces", workspaces)
  .route("/v1/platform/upgrades", upgrades)
  .route("/v1/platform/shards", shardRoutes)
  .route("/v1/platform/workspaces", moveRoutes)
  .route("/v1/platform/moves", moveStatusRoutes)
  .route("/v1/workspace", currentWorkspace)
  .route("/v1/members", members)
  .route("/v1/members", anonymousMembers)
  .route("/v1/members", memberCredentialChanges)
  .route("/v1/credential-changes", credentialChangeLinks)
  .route("/v1/settings/sms", smsSettingsRoutes)
  .route("/webhooks/twilio", twilioRoutes)
  .route("/v1/labels", labels)
  .route("/v1/roles", roles)
  .route("/v1/api-keys", apiKeys)
  .route("/v1/invitations", invitations)
  .route("/v1/join-requests", joinRequests)
  .route("/public", publicJoinRequests)
  .route("/v1/auth", auth)
  .route("/v1/outbox", outbox)
  .route("/v1/live", live)
  .route("/v1/events", eventRoutes)
  .route("/v1/actions", actionRoutes);

let openApi: ReturnType<typeof generateOpenApi> | undefined;
/** Built on its first request, not at every isolate's start. */
function openApiDocument() {
  openApi ??= generateOpenApi(api as unknown as Hono<never>);
  return openApi;
}

const app = api
  .get("/openapi.json", route({ summary: "This document", auth: "public", undocumented: true }), (c) =>
    c.json(openApiDocument()),
  )
  .notFound((c) => c.json(errorBody(notFound("route")), 404))
  .onError((err, c) => {
    if (err instanceof HTTPException && err.status === 400) {
      return handleError(new ApiError(400, "invalid_json", "The body is not valid JSON."), c);
    }
    // A batch a guard stopped (worker/reach/reach.ts, worker/labels/guard.ts) or a move
    // froze (worker/moves) is a refusal, not a failure.
    const moved = movedRefusal(err);
    const response = handleError(conditionRefusal(err) ?? labelDeletingRefusal(err) ?? moved ?? err, c);
    // The Worker's fetch retries the write once the switch is over (worker/moves/retry.ts).
    const workspaceId = moved && (c.get("caller")?.workspaceId ?? c.req.param("workspaceId"));
    if (workspaceId) response.headers.set(MOVED_WORKSPACE_HEADER, workspaceId);
    return response;
  });

export default {
  // A write a move's switch refused runs again on the new shard (worker/moves/retry.ts).
  fetch: (request, env, ctx) =>
    retriedAfterMove(
      request,
      async (r) => app.fetch(r, env, ctx),
      (workspaceId) => settledMove(env, workspaceId),
    ),
  // Cron Triggers (wrangler.toml): hourly, expire quiet anonymous members, forget
  // Idempotency-Keys older than 24 h and delete events past their workspace's retention; every five
  // minutes, enqueue again actions' deliveries and bulk jobs whose message was lost, and take a
  // pending online schema upgrade on (worker/upgrades).
  scheduled: (controller, env, ctx) => {
    const pokeWorkspace = (workspaceId: string) => poke(env, workspaceId);
    // Each job runs on every shard, each shard its own job: one shard's failure stops no other.
    for (const shard of shardsOf(env)) {
      if (controller.cron === EXPIRE_CRON) {
        const servedHere = async (workspaceId: string) => (await shardOf(env, workspaceId))?.index === shard.index;
        ctx.waitUntil(expireQuietAnonymous(shard.d1, Date.now(), pokeWorkspace, env, servedHere));
        ctx.waitUntil(sweepIdempotencyKeys(database(shard.d1), Date.now()));
        ctx.waitUntil(sweepExpiredEvents(database(shard.d1), Date.now()));
        continue;
      }
      ctx.waitUntil(sweepActions(env, shard.d1, Date.now(), pokeWorkspace));
      ctx.waitUntil(resumeStalledBulk(env, shard.d1, Date.now()));
    }
    if (controller.cron === EXPIRE_CRON) {
      ctx.waitUntil(sweepIdempotencyKeys(database(env.DIRECTORY), Date.now(), "directory"));
    } else {
      ctx.waitUntil(runUpgrades(env, UPGRADE_BUDGET_MS));
    }
  },
  // Queues (wrangler.toml): "webhooks", actions' deliveries; "bulk", set-based changes a batch at a
  // time; "imports", member imports a chunk at a time.
  queue: (batch, env) => {
    if (batch.queue === "webhooks") return consumeWebhooks(batch, env);
    if (batch.queue === "bulk") return consumeBulk(batch, env);
    return consumeImports(batch, env);
  },
} satisfies ExportedHandler<Env>;
export { RateCounter } from "../durable-objects/rate-counter";
export { WorkspaceLive } from "../durable-objects/workspace-live";
