import { ApiError } from "../lib/errors";

const SITEVERIFY = "https://challenges.cloudflare.com/turnstile/v0/siteverify";

/**
 * Checks a Turnstile widget response with Cloudflare's siteverify endpoint:
 * https://developers.cloudflare.com/turnstile/get-started/server-side-validation/
 */
export async function verifyTurnstile(secret: string, token: string | undefined, ip: string | undefined) {
  if (!token) throw new ApiError(403, "turnstile_required", "Complete the challenge and send turnstileToken.");
  const form = new URLSearchParams({ secret, response: token });
  if (ip) form.set("remoteip", ip);
  const response = await fetch(SITEVERIFY, { method: "POST", body: form });
  const result = (await response.json().catch(() => ({}))) as { success?: boolean };
  if (!response.ok || result.success !== true) {
    throw new ApiError(403, "turnstile_failed", "The challenge was not passed; try again.");
  }
}
