/**
 * Twilio's request signature (https://www.twilio.com/docs/usage/security#validating-requests):
 * base64 HMAC-SHA1, keyed by the account's auth token, over the full URL followed by
 * every POST parameter's name and value, sorted by name. Mirrors the official helper
 * (twilio-node `lib/webhooks/webhooks.js`): a repeated parameter contributes each
 * distinct value, sorted; the URL is tried without and with its default port, since
 * Twilio signs the URL as configured and proxies may add or drop ":443".
 */

export type FormParams = Map<string, string[]>;

/** The form body as Twilio's helper sees it: every value of every name. */
export function formParams(body: string): FormParams {
  const params: FormParams = new Map();
  for (const [name, value] of new URLSearchParams(body)) {
    const values = params.get(name);
    if (values) values.push(value);
    else params.set(name, [value]);
  }
  return params;
}

/** The signed string: URL, then name+value per parameter in sorted order. */
export function signedData(url: string, params: FormParams): string {
  let data = url;
  for (const name of [...params.keys()].sort()) {
    for (const value of [...new Set(params.get(name))].sort()) data += name + value;
  }
  return data;
}

const encoder = new TextEncoder();

async function hmacSha1(key: CryptoKey, data: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(data)));
}

const importKey = (authToken: string) =>
  crypto.subtle.importKey("raw", encoder.encode(authToken), { name: "HMAC", hash: "SHA-1" }, false, ["sign"]);

/** The signature Twilio sends for this URL and these parameters (base64). */
export async function twilioSignature(authToken: string, url: string, params: FormParams): Promise<string> {
  const mac = await hmacSha1(await importKey(authToken), signedData(url, params));
  return btoa(String.fromCharCode(...mac));
}

/**
 * True when `header` is the signature of the request under one of the URL forms
 * Twilio's helper accepts. The comparison is constant-time over the decoded MAC, whose
 * length (20 bytes) is public.
 */
export async function verifyTwilioSignature(
  authToken: string,
  header: string | undefined,
  url: string,
  params: FormParams,
): Promise<boolean> {
  const given = decodeBase64(header ?? "");
  if (given?.length !== 20) return false;
  const key = await importKey(authToken);
  let valid = false;
  for (const candidate of new Set([withoutPort(url), withDefaultPort(url)])) {
    const expected = await hmacSha1(key, signedData(candidate, params));
    // No early exit: every candidate is checked, whichever matched.
    if (crypto.subtle.timingSafeEqual(expected, given)) valid = true;
  }
  return valid;
}

function decodeBase64(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return null;
  try {
    return Uint8Array.from(atob(text), (ch) => ch.charCodeAt(0));
  } catch {
    return null;
  }
}

/** scheme://, authority, and the rest, split without normalizing (as Twilio's helper does). */
function splitUrl(url: string) {
  const match = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)/i.exec(url);
  if (!match) return null;
  const [prefix, scheme = "", authority = ""] = match;
  const hostStart = authority.lastIndexOf("@") + 1;
  const hostAndPort = authority.slice(hostStart);
  // In an IPv6 literal the port's colon comes after the closing bracket.
  const portStart = hostAndPort.indexOf(":", hostAndPort.lastIndexOf("]") + 1);
  return {
    scheme,
    userInfo: authority.slice(0, hostStart),
    host: portStart === -1 ? hostAndPort : hostAndPort.slice(0, portStart),
    port: portStart === -1 ? "" : hostAndPort.slice(portStart),
    rest: url.slice(prefix.length),
  };
}

export function withoutPort(url: string): string {
  const parts = splitUrl(url);
  return parts ? parts.scheme + parts.userInfo + parts.host + parts.rest : url;
}

export function withDefaultPort(url: string): string {
  const parts = splitUrl(url);
  if (!parts || parts.port) return url;
  const port = parts.scheme.toLowerCase() === "https://" ? ":443" : ":80";
  return parts.scheme + parts.userInfo + parts.host + port + parts.rest;
}
