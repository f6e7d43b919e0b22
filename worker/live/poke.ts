import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../lib/app";

/**
 * After a write commits, tells the workspace's Durable Object to deliver the new events.
 * Runs after the response is made (waitUntil); if the poke is lost, the object's sweep
 * alarm still finds the events within seconds.
 */
export const pokeAfterWrites: MiddlewareHandler<AppEnv> = async (c, next) => {
  await next();
  const workspaceId = c.get("caller")?.workspaceId ?? c.get("changedWorkspace");
  if (!workspaceId || c.req.method === "GET" || c.res.status >= 400) return;
  c.executionCtx.waitUntil(poke(c.env, workspaceId));
};

export async function poke(env: Env, workspaceId: string) {
  try {
    await env.WORKSPACE.getByName(workspaceId).poke();
  } catch (err) {
    console.warn(JSON.stringify({ poke: workspaceId, error: String(err) }));
  }
}
