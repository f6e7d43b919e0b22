import { describe, expect, it } from "vitest";
import { call, keyForRole, newWorkspace, type Workspace } from "../helpers";
import { asBrowser, signIn } from "../links";
import { inOneRateLimitWindow } from "../wait";

/** The two RateLimit header fields of an answer, parsed: the policy's quota and window, what is left and when it resets. */
function rateLimitOf(headers: Headers) {
  const policy = /^"credential";q=(\d+);w=(\d+)$/.exec(headers.get("RateLimit-Policy") ?? "");
  const left = /^"credential";r=(\d+);t=(\d+)$/.exec(headers.get("RateLimit") ?? "");
  if (!policy || !left) throw new Error(`no RateLimit headers: ${[...headers].join(" ")}`);
  return { quota: Number(policy[1]), window: Number(policy[2]), remaining: Number(left[1]), reset: Number(left[2]) };
}

const setLimit = (ws: Workspace, rateLimitPerMinute: unknown) =>
  call("PATCH", "/v1/workspace", { key: ws.key, body: { rateLimitPerMinute } });

describe("rate limits on the API", () => {
  it("tell every answer to a credential its quota and what is left, errors included, one request less each time", async () => {
    const ws = await newWorkspace({ rateLimitPerMinute: null });
    const { key: reader } = await keyForRole(ws, "manager", ["members:read"]);
    await inOneRateLimitWindow(10_000);
    const answers = [
      await call("GET", "/v1/workspace", { key: ws.key }),
      await call("GET", "/v1/members", { key: ws.key }),
      await call("GET", "/v1/members/mem_unknown", { key: ws.key }),
      await call("POST", "/v1/members", { key: ws.key, body: { name: "" } }),
      await call("POST", "/v1/members", {
        key: ws.key,
        body: { name: "Ann", email: "ann@x.test" },
        headers: { "Idempotency-Key": "k1" },
      }),
      await call("POST", "/v1/members", {
        key: ws.key,
        body: { name: "Ann", email: "ann@x.test" },
        headers: { "Idempotency-Key": "k1" },
      }),
    ];
    expect(answers.map((a) => a.status)).toEqual([200, 200, 404, 422, 201, 201]);
    const limits = answers.map((a) => rateLimitOf(a.headers));
    for (const [i, limit] of limits.entries()) {
      expect(limit.quota).toBe(600);
      expect(limit.window).toBe(60);
      expect(limit.reset).toBeGreaterThanOrEqual(1);
      expect(limit.reset).toBeLessThanOrEqual(60);
      expect(limit.remaining).toBe((limits[0]?.remaining ?? 0) - i);
    }
    // A refusal for want of a scope is counted and told too.
    const forbidden = await call("POST", "/v1/members", { key: reader, body: { name: "Bo", email: "bo@x.test" } });
    expect(forbidden.status).toBe(403);
    expect(rateLimitOf(forbidden.headers).quota).toBe(600);
  });

  it("answer 429 with Retry-After once a key made the workspace's limit of requests in a minute, and count each key and session apart", async () => {
    const ws = await newWorkspace({ rateLimitPerMinute: null });
    // Keys minted and a session signed in through public routes: none has made a /v1 request yet.
    const { member, key } = await keyForRole(ws, "manager");
    const { key: other } = await keyForRole(ws, "manager");
    const session = asBrowser(await signIn(ws, member.email));
    const elsewhere = await newWorkspace({ rateLimitPerMinute: null });
    await inOneRateLimitWindow(20_000);
    expect((await setLimit(ws, 3)).status).toBe(200);
    expect(rateLimitOf((await call("GET", "/v1/workspace", { key })).headers)).toMatchObject({
      quota: 3,
      remaining: 2,
    });
    expect((await call("GET", "/v1/members", { key })).status).toBe(200);
    expect((await call("GET", "/v1/members", { key })).status).toBe(200);

    const refused = await call("GET", "/v1/members", { key });
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe("rate_limited");
    const retryAfter = Number(refused.headers.get("Retry-After"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(rateLimitOf(refused.headers)).toMatchObject({ quota: 3, remaining: 0, reset: retryAfter });
    // Refused writes write nothing, and stay refused.
    expect((await call("POST", "/v1/members", { key, body: { name: "Late", email: "late@x.test" } })).status).toBe(429);

    // Another key of the workspace, a session of the same member and another workspace each have their own count.
    const byOther = await call("GET", "/v1/members", { key: other });
    expect(byOther.status).toBe(200);
    expect(rateLimitOf(byOther.headers)).toMatchObject({ quota: 3, remaining: 2 });
    const bySession = await call("GET", "/v1/members", { headers: session });
    expect(bySession.status).toBe(200);
    expect(rateLimitOf(bySession.headers)).toMatchObject({ quota: 3, remaining: 2 });
    expect(bySession.body.data.map((m: { name: string }) => m.name)).not.toContain("Late");
    const byElsewhere = await call("GET", "/v1/members", { key: elsewhere.key });
    expect(byElsewhere.status).toBe(200);
    expect(rateLimitOf(byElsewhere.headers).quota).toBe(600);
  });

  it("is a workspace setting: shown by GET /v1/workspace, changed with its event, and refused with 422 when not a whole number from 1 to 100000", async () => {
    const ws = await newWorkspace({ rateLimitPerMinute: null });
    expect((await call("GET", "/v1/workspace", { key: ws.key })).body.rateLimitPerMinute).toBe(600);
    for (const bad of [0, -5, 1.5, "60", null, 100_001]) {
      const res = await setLimit(ws, bad);
      expect(res.status, JSON.stringify(bad)).toBe(422);
      expect(res.body.error.code).toBe("validation_failed");
      expect(res.body.error.issues[0].path).toBe("rateLimitPerMinute");
    }
    expect((await call("GET", "/v1/workspace", { key: ws.key })).body.rateLimitPerMinute).toBe(600);
    const changed = await setLimit(ws, 1200);
    expect(changed.status).toBe(200);
    expect(changed.body.rateLimitPerMinute).toBe(1200);
    expect(rateLimitOf((await call("GET", "/v1/workspace", { key: ws.key })).headers).quota).toBe(1200);
  });
});
