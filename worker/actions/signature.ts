/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com/, "Signature scheme"):
 * `v1,` and base64 of HMAC-SHA256 over `${id}.${timestamp}.${body}`, keyed by the
 * base64-decoded part of the `whsec_` secret.
 */
export function newSecret(): string {
  return `whsec_${base64(crypto.getRandomValues(new Uint8Array(32)))}`;
}

/** The HMAC key of a `whsec_` secret; throws (atob's InvalidCharacterError) when the rest is not base64. */
export function secretKey(secret: string): Uint8Array {
  return Uint8Array.from(atob(secret.replace(/^whsec_/, "")), (ch) => ch.charCodeAt(0));
}

/** Whether signing can decode the secret into a key of 24 to 64 bytes. */
export function decodesToKey(secret: string) {
  try {
    const bytes = secretKey(secret).byteLength;
    return bytes >= 24 && bytes <= 64;
  } catch {
    return false;
  }
}

export async function sign(secret: string, id: string, timestamp: number, body: string): Promise<string> {
  const hmac = { name: "HMAC", hash: "SHA-256" };
  const key = await crypto.subtle.importKey("raw", secretKey(secret), hmac, false, ["sign"]);
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${id}.${timestamp}.${body}`));
  return `v1,${base64(new Uint8Array(mac))}`;
}

/** The headers of one delivery attempt; the timestamp is the attempt's, in seconds. */
export async function webhookHeaders(secret: string, id: string, body: string, now = Date.now()) {
  const timestamp = Math.floor(now / 1000);
  return {
    "Content-Type": "application/json",
    "webhook-id": id,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": await sign(secret, id, timestamp, body),
  };
}

function base64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}
