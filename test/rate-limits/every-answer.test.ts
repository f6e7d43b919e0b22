import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../worker/index";
import { call, newIp, newWorkspace, PLATFORM_TOKEN } from "../helpers";
import { inOneRateLimitWindow } from "../wait";

/** The RateLimit header fields of an answer, parsed: the policy's name, quota and window, what is left and when it resets. */
function rateLimitOf(headers: Headers) {
  const policy = /^"([\w-]+)";q=(\d+);w=(\d+)$/.exec(headers.get("RateLimit-Policy") ?? "");
  const left = /^"([\w-]+)";r=(\d+);t=(\d+)$/.exec(headers.get("RateLimit") ?? "");
  if (!policy || !left || policy[1] !== left[1]) throw new Error(`no RateLimit headers: ${[...headers].join(" ")}`);
  return {
    policy: policy[1],
    quota: Number(policy[2]),
    window: Number(policy[3]),
    remaining: Number(left[2]),
    reset: Number(left[3]),
  };
}

/** The Worker's answer to a request, run with `bindings` (the test's env with a setting changed). */
async function callWorker(path: string, init: RequestInit, bindings: Env) {
  const ctx = createExecutionContext();
  // As the runtime hands it to the Worker: an incoming request (its `cf` is the edge's).
  const request = new Request(`http://localhost${path}`, init) as Request<unknown, IncomingRequestCfProperties>;
  const response = await worker.fetch(request, bindings, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

/** The public routes' answers from one client: `ip` as Cloudflare's edge reports it. */
const from = (ip: string, options: { key?: string; body?: unknown } = {}) => ({
  ...options,
  headers: { "CF-Connecting-IP": ip },
});

describe("rate limits on every /v1 answer", () => {
  it("tell a client without a valid credential, and a client of each public route, its IP's quota, one request less each time", async () => {
    const ws = await newWorkspace();
    const ip = newIp();
    await inOneRateLimitWindow(10_000);
    const answers = [
      await call("GET", "/v1/members", from(ip)),
      await call("GET", "/v1/members", from(ip, { key: "lm_not_a_key" })),
      await call("POST", "/v1/workspaces", from(ip, { key: "not-the-platform-token", body: {} })),
      await call("GET", "/v1/no-such-route", from(ip)),
      await call("POST", "/v1/auth/login", from(ip, { body: { workspace: ws.slug, email: "nobody@x.test" } })),
      await call("POST", "/v1/auth/verify", from(ip, { body: { token: "not-a-token" } })),
      await call("POST", "/v1/invitations/accept", from(ip, { body: { token: "not-a-token", name: "Ann" } })),
      await call("POST", "/v1/credential-changes/preview", from(ip, { body: { token: "not-a-token" } })),
      await call("POST", "/v1/credential-changes/confirm", from(ip, { body: { token: "not-a-token" } })),
    ];
    expect(answers.slice(0, 4).map((a) => a.status)).toEqual([401, 401, 401, 404]);
    const limits = answers.map((a) => rateLimitOf(a.headers));
    for (const [i, limit] of limits.entries()) {
      expect(limit).toMatchObject({ policy: "client", quota: 600, window: 60 });
      expect(limit.reset).toBeGreaterThanOrEqual(1);
      expect(limit.reset).toBeLessThanOrEqual(60);
      expect(limit.remaining).toBe(599 - i);
    }
  });

  it("tell the platform token's answers its own quota, one request less each time", async () => {
    const ip = newIp();
    const first = await call("GET", "/v1/platform/shards", from(ip, { key: PLATFORM_TOKEN }));
    const second = await call("GET", "/v1/platform/shards", from(ip, { key: PLATFORM_TOKEN }));
    const created = await newWorkspace();
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(created.id).toMatch(/^ws_/);
    const [a, b] = [rateLimitOf(first.headers), rateLimitOf(second.headers)];
    expect(a).toMatchObject({ policy: "platform", quota: 6000, window: 60 });
    // One counter for the token, which other test files may use at the same time: at least one less.
    expect(b.remaining).toBeLessThanOrEqual(a.remaining - 1);
    // The platform's requests are not the client IP's: that one has its whole quota.
    expect(rateLimitOf((await call("GET", "/v1/members", from(ip))).headers).remaining).toBe(599);
  });

  it("answer 429 with Retry-After to a client IP past its quota, on any route, while another IP is still answered", async () => {
    const ip = newIp();
    const ws = await newWorkspace();
    // A quota of 20 (the Worker as deployed with CLIENT_RATE_LIMIT_PER_MINUTE=20), so the
    // test sends few requests and they fit in one window however slow the machine.
    const limited = (path: string, init: RequestInit) =>
      callWorker(path, init, { ...env, CLIENT_RATE_LIMIT_PER_MINUTE: "20" } as Env);
    const asIp = (address: string, more: Record<string, string> = {}) => ({ "CF-Connecting-IP": address, ...more });
    await inOneRateLimitWindow(10_000);
    const sent = await Promise.all(Array.from({ length: 20 }, () => limited("/v1/members", { headers: asIp(ip) })));
    expect(sent.every((a) => a.status === 401)).toBe(true);
    for (const refused of [
      await limited("/v1/members", { headers: asIp(ip) }),
      await limited("/v1/auth/login", {
        method: "POST",
        headers: asIp(ip, { "Content-Type": "application/json" }),
        body: JSON.stringify({ workspace: ws.slug, email: "nobody@x.test" }),
      }),
    ]) {
      expect(refused.status).toBe(429);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("rate_limited");
      const retryAfter = Number(refused.headers.get("Retry-After"));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(rateLimitOf(refused.headers)).toMatchObject({
        policy: "client",
        quota: 20,
        remaining: 0,
        reset: retryAfter,
      });
    }
    // A valid key from the same IP is counted against the key, not the IP.
    const withKey = await limited("/v1/members", { headers: asIp(ip, { Authorization: `Bearer ${ws.key}` }) });
    expect(withKey.status).toBe(200);

    const other = await limited("/v1/members", { headers: asIp(newIp()) });
    expect(other.status).toBe(401);
    expect(rateLimitOf(other.headers)).toMatchObject({ policy: "client", remaining: 19 });
  });

  it("tell the flood protection's policy on its 429, with nothing left", async () => {
    const ws = await newWorkspace();
    const email = "target@x.test";
    const answers = [];
    for (let i = 0; i < 6; i++) {
      answers.push(await call("POST", "/v1/auth/login", from(newIp(), { body: { workspace: ws.slug, email } })));
    }
    expect(answers.map((a) => a.status)).toEqual([202, 202, 202, 202, 202, 429]);
    const refused = answers[5];
    expect(refused?.headers.get("Retry-After")).toBe("60");
    expect(rateLimitOf(refused?.headers ?? new Headers())).toEqual({
      policy: "flood-target",
      quota: 5,
      window: 60,
      remaining: 0,
      reset: 60,
    });
  });

  it("are documented, with the 429, on every /v1 operation of the OpenAPI document", async () => {
    const doc = (await call("GET", "/openapi.json")).body;
    let operations = 0;
    for (const [path, item] of Object.entries<Record<string, { responses: Record<string, { headers?: object }> }>>(
      doc.paths,
    )) {
      if (!path.startsWith("/v1/")) continue;
      for (const [method, operation] of Object.entries(item)) {
        operations++;
        expect(Object.keys(operation.responses), `${method} ${path}`).toContain("429");
        for (const [status, response] of Object.entries(operation.responses)) {
          if (status === "101" || status === "default") continue;
          expect(Object.keys(response.headers ?? {}), `${method} ${path} ${status}`).toEqual(
            expect.arrayContaining(["RateLimit-Policy", "RateLimit"]),
          );
        }
        expect(Object.keys(operation.responses["429"]?.headers ?? {})).toContain("Retry-After");
      }
    }
    expect(operations).toBeGreaterThan(50);
  });
});
