/**
 * Where webhooks may go: public http(s) endpoints only. Refused when saved, and again
 * before each attempt (for actions saved before a rule existed): other schemes,
 * credentials in the URL, and targets that name this side of the network (localhost,
 * loopback, private, link-local, multicast and other special-purpose IP literals, in
 * IPv4 and IPv6, IPv4-mapped forms judged as IPv4; the `.internal`, `.local`, `.localhost`
 * names). Redirects are never followed (./webhooks.ts), so a public URL cannot hand a
 * delivery on to one of these. Names are not resolved: Workers' fetch does not reach
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
  const refused = host.startsWith("[") ? refusedIpv6(host.slice(1, -1)) : refusedIpv4(host);
  return refused && `Use a public address: this one is in ${refused}.`;
}

/**
 * Special-purpose blocks (the IANA IPv4 and IPv6 Special-Purpose Address Registries, RFC
 * 6890 and its updates) where a public receiver cannot be, with what each is.
 */
const REFUSED_IPV4: readonly (readonly [cidr: string, what: string])[] = [
  ["0.0.0.0/8", "this network"],
  ["10.0.0.0/8", "private"],
  ["100.64.0.0/10", "carrier-grade NAT"],
  ["127.0.0.0/8", "loopback"],
  ["169.254.0.0/16", "link-local (cloud metadata)"],
  ["172.16.0.0/12", "private"],
  ["192.0.0.0/24", "IETF protocol assignments"],
  ["192.0.2.0/24", "documentation"],
  ["192.88.99.0/24", "6to4 relay anycast"],
  ["192.168.0.0/16", "private"],
  ["198.18.0.0/15", "benchmarking"],
  ["198.51.100.0/24", "documentation"],
  ["203.0.113.0/24", "documentation"],
  ["224.0.0.0/4", "multicast"],
  ["240.0.0.0/4", "reserved and broadcast"],
];

/** IPv4-mapped (::ffff:0:0/96): the IPv4 address inside is judged instead. */
const MAPPED = "::ffff:0:0/96";

const REFUSED_IPV6: readonly (readonly [cidr: string, what: string])[] = [
  // The most specific first, for the message: NAT64 lies inside ::/8.
  ["64:ff9b::/96", "NAT64"],
  ["64:ff9b:1::/48", "local-use NAT64"],
  // Besides the mapped block: unspecified, loopback, IPv4-compatible (::a.b.c.d), IPv4-translated and other reserved forms.
  ["::/8", "reserved: unspecified, loopback, IPv4-compatible"],
  ["100::/64", "discard-only"],
  // Teredo (2001::/32), benchmarking, ORCHID and the rest of the IETF block: none a receiver's home.
  ["2001::/23", "IETF protocol assignments (Teredo included)"],
  ["2001:db8::/32", "documentation"],
  ["2002::/16", "6to4"],
  ["3fff::/20", "documentation"],
  ["5f00::/16", "segment routing"],
  ["fc00::/7", "unique local"],
  ["fe80::/10", "link-local"],
  ["fec0::/10", "site-local"],
  ["ff00::/8", "multicast"],
];

type Block = { base: bigint; bits: number; width: number; label: string };

function block(cidr: string, what: string, width: 32 | 128): Block {
  const [address = "", bits = ""] = cidr.split("/");
  const base = width === 32 ? ipv4Number(address) : ipv6Number(address);
  if (base === null) throw new Error(`bad block ${cidr}`);
  return { base, bits: Number(bits), width, label: `${cidr} (${what})` };
}

const V4_BLOCKS = REFUSED_IPV4.map(([cidr, what]) => block(cidr, what, 32));
const V6_BLOCKS = REFUSED_IPV6.map(([cidr, what]) => block(cidr, what, 128));
const MAPPED_BLOCK = block(MAPPED, "IPv4-mapped", 128);

const inBlock = (address: bigint, b: Block) =>
  address >> BigInt(b.width - b.bits) === b.base >> BigInt(b.width - b.bits);

/** The refused block a dotted IPv4 literal is in (the URL parser has already normalised 0x7f.1 and the like), or null. */
function refusedIpv4(host: string): string | null {
  const address = ipv4Number(host);
  if (address === null) return null;
  return V4_BLOCKS.find((b) => inBlock(address, b))?.label ?? null;
}

/** The refused block an IPv6 literal is in, judging a mapped IPv4 address as IPv4, or null. */
function refusedIpv6(host: string): string | null {
  const address = ipv6Number(host);
  if (address === null) return "an IPv6 literal that does not parse";
  if (inBlock(address, MAPPED_BLOCK)) {
    const v4 = address & 0xffffffffn;
    const dotted = [24n, 16n, 8n, 0n].map((shift) => (v4 >> shift) & 255n).join(".");
    const refused = refusedIpv4(dotted);
    return refused && `${refused}, mapped to IPv6`;
  }
  return V6_BLOCKS.find((b) => inBlock(address, b))?.label ?? null;
}

function ipv4Number(text: string): bigint | null {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return null;
  return parts.reduce((n, p) => (n << 8n) | BigInt(p), 0n);
}

/**
 * An IPv6 address as a number: eight groups of hex, `::` standing for the missing ones.
 * The URL parser has already normalised it (lower case, no dotted IPv4 tail).
 */
function ipv6Number(text: string): bigint | null {
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const split = (half: string | undefined) => (half ? half.split(":") : []);
  const head = split(halves[0]);
  const tail = split(halves[1]);
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const all = [...head, ...Array<string>(halves.length === 1 ? 0 : missing).fill("0"), ...tail];
  if (!all.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return null;
  return all.reduce((n, g) => (n << 16n) | BigInt(Number.parseInt(g, 16)), 0n);
}
