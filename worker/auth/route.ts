import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../app";
import { actingAs } from "../events/acting";
import { idempotent } from "../idempotency/keys";
import { platformScope, refuseIdempotencyKey } from "../idempotency/platform";
import { shareBookmark } from "../lib/d1-sessions";
import { ApiError } from "../lib/errors";
import { DOC, type DocPart } from "../lib/openapi-meta";
import { limitClient, limitCredential, limitPlatform, withRateLimitHeaders } from "../rate-limits/limit";
import { assertMemberInReach } from "../reach/reach";
import { grants, type Scope } from "../roles/scopes";
import { authenticate, requirePlatformToken } from "./authenticate";

const PUBLIC =
  "A public route does not take Idempotency-Key: with no credential to scope it to, a replay could hand one visitor's answer to another.";
const NOT_IDEMPOTENT =
  "This upload does not take Idempotency-Key: its body streams and is read once. Retry without it, then GET /v1/imports to see what ran.";

/** Who may call a route: a scope's holders, the platform token, or anyone. */
export type Auth = Scope | "platform" | "public";

type RouteSpec = Omit<DocPart, "auth"> &
  Required<Pick<DocPart, "summary">> & {
    auth: Auth;
    /**
     * The path parameter naming the member the route acts on: when the caller's role has
     * a condition that excludes that member, the route answers 404 as if it were absent.
     */
    targetMember?: string;
  };

/**
 * Declares a route: its OpenAPI summary and responses, and who may call it. A scope
 * means an authenticated caller whose scopes grant it; "platform" the platform token;
 * "public" anyone.
 */
export function route(spec: RouteSpec): MiddlewareHandler<AppEnv> {
  // A POST of an authenticated caller or the platform token takes Idempotency-Key
  // (../idempotency/keys.ts); a public one and a streamed upload refuse it (../idempotency/platform.ts).
  // The events the request appends name its actor (worker/events/acting.ts): the member and
  // key or session it authenticated with, the platform, or a visitor.
  const middleware: MiddlewareHandler<AppEnv> = async (c, next) => {
    if (spec.auth === "platform") {
      await requirePlatformToken(c);
      const rateLimit = await limitPlatform(c);
      c.set("authenticated", true);
      await actingAs({ type: "platform" }, async () => {
        if (c.req.method !== "POST" || spec.notIdempotent) return next();
        const replayed = await idempotent(c, next, platformScope(c));
        if (replayed instanceof Response) c.res = replayed;
      });
      withRateLimitHeaders(c, rateLimit);
      return;
    }
    if (spec.auth !== "public") {
      const caller = await authenticate(c);
      // Counted before any refusal, so a 403's answer carries the headers too (see limitCredential).
      const rateLimit = await limitCredential(c, caller);
      if (!grants(caller.scopes, spec.auth)) {
        throw new ApiError(403, "forbidden", `This needs the ${spec.auth} scope.`);
      }
      c.set("caller", caller);
      c.set("authenticated", true);
      const target = spec.targetMember && c.req.param(spec.targetMember);
      if (target) await assertMemberInReach(c.var.db, caller, target);
      const handled = async () => {
        if (spec.notIdempotent) refuseIdempotencyKey(c, NOT_IDEMPOTENT);
        if (c.req.method === "POST" && !spec.notIdempotent) {
          const replayed = await idempotent(c, next);
          if (replayed instanceof Response) c.res = replayed;
        } else {
          await next();
        }
      };
      await actingAs(caller.actor, handled);
      // A handler's own Response (a stream, a replay) has not the headers the context prepared.
      withRateLimitHeaders(c, rateLimit);
      return;
    }
    refuseIdempotencyKey(c, PUBLIC);
    if (spec.signsIn) shareBookmark(c);
    // A public `/v1` route counts against the client's IP (a 401 does too: ../rate-limits/limit.ts).
    if (!c.req.path.startsWith("/v1/")) return actingAs({ type: "public" }, next);
    const rateLimit = await limitClient(c);
    await actingAs({ type: "public" }, next);
    withRateLimitHeaders(c, rateLimit);
  };
  return Object.assign(middleware, { [DOC]: spec });
}
