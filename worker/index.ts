import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { secureHeaders } from "hono/secure-headers";
import { apiKeys } from "./api-keys/routes";
import { labels } from "./labels/routes";
import { pokeAfterWrites } from "./live/poke";
import { live } from "./live/routes";
import type { AppEnv } from "./lib/app";
import { database } from "./lib/db";
import { ApiError, handleError } from "./lib/errors";
import { members } from "./members/routes";
import { generateOpenApi } from "./openapi/generate";
import { currentWorkspace, workspaces } from "./platform/routes";
import { roles } from "./roles/routes";

const MAX_JSON_BODY = 1024 * 1024;

const api = new Hono<AppEnv>()
  .use(secureHeaders())
  .use(async (c, next) => {
    c.set("db", database(c.env.DB));
    await next();
  })
  .use("/v1/*", pokeAfterWrites)
  .use(
    "/v1/*",
    bodyLimit({
      maxSize: MAX_JSON_BODY,
      onError: () => {
        throw new ApiError(413, "payload_too_large", `Bodies are limited to ${MAX_JSON_BODY} bytes.`);
      },
    }),
  )
  .get("/healthz", (c) => c.json({ ok: true }))
  .route("/v1/workspaces", workspaces)
  .route("/v1/workspace", currentWorkspace)
  .route("/v1/members", members)
  .route("/v1/labels", labels)
  .route("/v1/roles", roles)
  .route("/v1/api-keys", apiKeys)
  .route("/v1/live", live);

const openApi = generateOpenApi(api as unknown as Hono<never>);

const app = api
  .get("/openapi.json", (c) => c.json(openApi))
  .notFound((c) => c.json({ error: { code: "not_found", message: "No such route." } }, 404))
  .onError((err, c) => {
    if (err instanceof HTTPException && err.status === 400) {
      return handleError(new ApiError(400, "invalid_json", "The body is not valid JSON."), c);
    }
    return handleError(err, c);
  });

export default app;
export { WorkspaceLive } from "../durable-objects/workspace-live";
