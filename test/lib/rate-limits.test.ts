import { describe, expect, it } from "vitest";
import { toBase64Url } from "../../worker/lib/crypto";
import { addMember, call, newIp, newWorkspace } from "../helpers";
import { inOneRateLimitWindow } from "../wait";

/** A well-formed token of the given kind that nobody issued. */
const unknownToken = (prefix: string) => `${prefix}_${toBase64Url(crypto.getRandomValues(new Uint8Array(32)))}`;

const PER_IP = 10; // RATE_LIMIT_PER_IP in wrangler.toml
const PER_TARGET = 5; // RATE_LIMIT_PER_TARGET

function expectLimited(res: Awaited<ReturnType<typeof call>>) {
  expect(res.status).toBe(429);
  expect(res.body.error.code).toBe("rate_limited");
  expect(res.headers.get("Retry-After")).toBe("60");
}

describe("sign-in link requests", () => {
  const login = (slug: string, email: string, ip: string) =>
    call("POST", "/v1/auth/login", { body: { workspace: slug, email }, headers: { "CF-Connecting-IP": ip } });

  it("answer 429 with Retry-After once one client asked ten times in a minute; another client still gets 202", async () => {
    const ws = await newWorkspace();
    const ip = newIp();
    await inOneRateLimitWindow(10_000);
    for (let i = 0; i < PER_IP; i++) expect((await login(ws.slug, `a${i}@x.test`, ip)).status).toBe(202);
    expectLimited(await login(ws.slug, "one-more@x.test", ip));
    expect((await login(ws.slug, "one-more@x.test", newIp())).status).toBe(202);
  });

  it("answer 429 once one email was asked for five times, from any clients, and the same for a member and a stranger", async () => {
    const ws = await newWorkspace();
    await addMember(ws, { email: "member@x.test" });
    await inOneRateLimitWindow(10_000);
    for (const email of ["member@x.test", "stranger@x.test"]) {
      for (let i = 0; i < PER_TARGET; i++) expect((await login(ws.slug, email, newIp())).status).toBe(202);
      expectLimited(await login(ws.slug, email, newIp()));
    }
    // Another email of the workspace, and the same email in another workspace, still get through.
    expect((await login(ws.slug, "other@x.test", newIp())).status).toBe(202);
    expect((await login((await newWorkspace()).slug, "member@x.test", newIp())).status).toBe(202);
  });
});

describe.each([
  ["POST /v1/auth/verify", "/v1/auth/verify", "lms"],
  ["POST /v1/invitations/accept", "/v1/invitations/accept", "lmi"],
  ["POST /v1/credential-changes/confirm", "/v1/credential-changes/confirm", "lmx"],
])("%s", (_, path, prefix) => {
  const redeem = (token: string, ip: string) =>
    call("POST", path, { body: { token }, headers: { "CF-Connecting-IP": ip } });

  it("answers 429 with Retry-After once one client tried ten links in a minute; another client still gets its answer", async () => {
    const ip = newIp();
    await inOneRateLimitWindow(10_000);
    for (let i = 0; i < PER_IP; i++) expect((await redeem(unknownToken(prefix), ip)).status).toBe(404);
    expectLimited(await redeem(unknownToken(prefix), ip));
    expect((await redeem(unknownToken(prefix), newIp())).status).toBe(404);
  });

  it("answers 429 once one link was tried five times, from any clients; other links still get their answer", async () => {
    const token = unknownToken(prefix);
    await inOneRateLimitWindow(10_000);
    for (let i = 0; i < PER_TARGET; i++) expect((await redeem(token, newIp())).status).toBe(404);
    expectLimited(await redeem(token, newIp()));
    expect((await redeem(unknownToken(prefix), newIp())).status).toBe(404);
  });
});
