import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { authTokenOf, requireSecretsKey, sealAuthToken } from "../../worker/sms-settings/token";

describe("the key that seals auth tokens (SECRETS_KEY)", () => {
  it("is refused (503 not_configured) when missing or shorter than 32 characters, and then opens nothing", async () => {
    const sealed = await sealAuthToken(env, "ws_a", "token-a");
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    for (const SECRETS_KEY of ["", "changeme", "x".repeat(31)]) {
      const weak = { ...env, SECRETS_KEY };
      expect(() => requireSecretsKey(weak)).toThrow(expect.objectContaining({ status: 503, code: "not_configured" }));
      expect(await authTokenOf(weak, { workspaceId: "ws_a", authToken: sealed })).toBeNull();
    }
    expect(JSON.stringify(warn.mock.calls)).not.toContain("token-a");
    warn.mockRestore();
    expect(await authTokenOf(env, { workspaceId: "ws_a", authToken: sealed })).toBe("token-a");
    expect(await authTokenOf(env, { workspaceId: "ws_b", authToken: sealed })).toBeNull();
  });
});
