import { fromBase64Url, toBase64Url } from "./crypto";

/**
 * Secrets we must use whole are kept sealed at rest: a Twilio auth token keys HMAC
 * signatures, so no hash of it will do. AES-GCM under a key derived from the Worker secret
 * SECRETS_KEY, bound to what the secret belongs to (`context`, e.g. its workspace), so a
 * value copied into another row opens nowhere, and a dump of D1 holds no usable token.
 */
const PREFIX = "v1.";
const encoder = new TextEncoder();

const keys = new Map<string, Promise<CryptoKey>>();

function aesKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle
      .digest("SHA-256", encoder.encode(`live-members sealed values\0${secret}`))
      .then((raw) => crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]));
    keys.set(secret, key);
  }
  return key;
}

export async function seal(secret: string, context: string, plaintext: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: encoder.encode(context) },
    await aesKey(secret),
    encoder.encode(plaintext),
  );
  return `${PREFIX}${toBase64Url(iv)}.${toBase64Url(new Uint8Array(sealed))}`;
}

/** Whether a stored value is sealed (values stored before sealing began are not). */
export const isSealed = (value: string) => value.startsWith(PREFIX);

/** The plaintext of a sealed value; null when it does not open (another key or context, or altered). */
export async function unseal(secret: string, context: string, value: string): Promise<string | null> {
  if (!isSealed(value)) return null;
  try {
    const [iv, data] = value.slice(PREFIX.length).split(".").map(fromBase64Url);
    if (!iv || !data) return null;
    const plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv, additionalData: encoder.encode(context) },
      await aesKey(secret),
      data,
    );
    return new TextDecoder().decode(plain);
  } catch {
    return null;
  }
}
