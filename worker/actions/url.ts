/**
 * Where webhooks may go: public http(s) endpoints only. Refused when saved, and again
 * before each attempt (for actions saved before a rule existed): other schemes,
 * credentials in the URL, and targets that name this side of the network (localhost,
 * loopback, private, link-local and other special-purpose IP literals, the `.internal`,
 * `.local`, `.localhost` names). Names are not resolved: Workers' fetch does not reach
 * private networks, so the literal checks stop the obvious probes, not DNS tricks.
 */

/** Dev and test only: "1" lets webhooks go to http://localhost and 127.0.0.1 (local receivers). */
export type WebhookUrlEnv = Partial<{ WEBHOOK_ALLOW_LOCALHOST: string }>;

const LOCAL_NAMES = /(^|\.)(localhost|internal|local|localdomain|home\.arpa)$/;

/** Why the URL may not receive webhooks, or null when it may. */
export function refusedWebhookUrl(raw: string, env: Env & WebhookUrlEnv): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "Enter an absolute URL.";
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return "Use an http or https URL.";
  if (url.username || url.password) return "Put no credentials in the URL: verify the signature instead.";
  const host = url.hostname.toLowerCase().replace(/\.$/, "");
  const loopback = host === "localhost" || host === "127.0.0.1" || host === "[::1]";
  if (loopback && env.WEBHOOK_ALLOW_LOCALHOST === "1") return null;
  if (LOCAL_NAMES.test(host) || (!host.includes(".") && !host.startsWith("["))) {
    return "Use a public host name: local and internal names are refused.";
  }
  const v4 = ipv4(host);
  if (v4 && !publicIpv4(v4)) return "Use a public address: private, loopback and link-local addresses are refused.";
  if (host.startsWith("[") && !publicIpv6(host.slice(1, -1))) {
    return "Use a public address: private, loopback and link-local addresses are refused.";
  }
  return null;
}

/** The four bytes of a dotted IPv4 literal (the URL parser has already normalised 0x7f.1 and the like). */
function ipv4(host: string): number[] | null {
  const parts = host.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p))) return null;
  const bytes = parts.map(Number);
  return bytes.every((b) => b <= 255) ? bytes : null;
}

/** Not in a special-purpose block (RFC 6890 and its updates) that a public receiver cannot be in. */
function publicIpv4([a = 0, b = 0, c = 0]: number[]): boolean {
  if (a === 0 || a === 10 || a === 127 || a >= 224) return false; // this network, private, loopback, multicast/reserved
  if (a === 100 && b >= 64 && b <= 127) return false; // carrier-grade NAT
  if (a === 169 && b === 254) return false; // link-local (cloud metadata)
  if (a === 172 && b >= 16 && b <= 31) return false;
  if (a === 192 && b === 168) return false;
  if (a === 192 && b === 0 && (c === 0 || c === 2)) return false; // IETF protocol, TEST-NET-1
  if (a === 198 && (b === 18 || b === 19)) return false; // benchmarking
  if ((a === 198 && b === 51 && c === 100) || (a === 203 && b === 0 && c === 113)) return false; // TEST-NET-2/3
  return true;
}

function publicIpv6(host: string): boolean {
  const h = host.toLowerCase();
  if (h === "::" || h === "::1") return false;
  // IPv4-mapped (::ffff:a.b.c.d, which the URL parser writes as ::ffff:xxxx:xxxx).
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(h);
  if (mapped) {
    const hi = Number.parseInt(mapped[1] ?? "0", 16);
    const lo = Number.parseInt(mapped[2] ?? "0", 16);
    return publicIpv4([hi >> 8, hi & 255, lo >> 8, lo & 255]);
  }
  const first = Number.parseInt(h.split(":")[0] || "0", 16);
  if ((first & 0xfe00) === 0xfc00) return false; // unique local fc00::/7
  if ((first & 0xffc0) === 0xfe80) return false; // link-local fe80::/10
  if ((first & 0xff00) === 0xff00) return false; // multicast
  if (h.startsWith("2001:db8:") || h.startsWith("64:ff9b:")) return false; // documentation, NAT64
  return first !== 0; // other ::/8 forms (IPv4-compatible and the like)
}
