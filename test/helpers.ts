import { exports } from "cloudflare:workers";

const worker = (exports as unknown as { default: Fetcher }).default;

export const PLATFORM_TOKEN = "test-platform-token";

type CallOptions = { key?: string; body?: unknown; headers?: Record<string, string>; rawBody?: BodyInit };

/** Calls the Worker through its public fetch handler, as an outside client would. */
export async function call(method: string, path: string, options: CallOptions = {}) {
  const headers = new Headers(options.headers);
  if (options.key) headers.set("Authorization", `Bearer ${options.key}`);
  let body = options.rawBody;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    if (!headers.has("Content-Type")) headers.set("Content-Type", "application/json");
  }
  const response = await worker.fetch(new Request(`http://localhost${path}`, { method, headers, body }));
  const text = await response.text();
  // biome-ignore lint/suspicious/noExplicitAny: tests read JSON bodies freely
  let json: any = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = text;
  }
  return { status: response.status, body: json, headers: response.headers };
}

let counter = 0;
const unique = () => `${Date.now().toString(36)}-${(counter++).toString(36)}-${crypto.randomUUID().slice(0, 8)}`;

export type Workspace = { id: string; slug: string; key: string; ownerId: string };

/**
 * A fresh workspace with its owner's manager key: each test makes its own. On the shard
 * with the most room (so consecutive workspaces spread over the shards), or on `shard`.
 */
/**
 * Test workspaces allow more requests a minute than the default 600: a test that polls with
 * one key (`eventually`, every 25 ms) on a slow machine could otherwise be refused. `null`
 * keeps the server's default (test/rate-limits).
 */
const TEST_RATE_LIMIT = 10_000;

export async function newWorkspace(
  options: { allowJoinRequests?: boolean; shard?: number; rateLimitPerMinute?: number | null } = {},
): Promise<Workspace> {
  const slug = `ws-${unique()}`;
  const { rateLimitPerMinute = TEST_RATE_LIMIT, ...rest } = options;
  const res = await call("POST", "/v1/workspaces", {
    key: PLATFORM_TOKEN,
    body: {
      name: `Workspace ${slug}`,
      slug,
      owner: { name: "Olive Owner", email: `owner@${slug}.test` },
      ...rest,
      ...(rateLimitPerMinute === null ? {} : { rateLimitPerMinute }),
    },
  });
  if (res.status !== 201) throw new Error(`workspace creation failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { id: res.body.workspace.id, slug, key: res.body.apiKey, ownerId: res.body.owner.id };
}

/** Adds a member through the API and returns its JSON. */
export async function addMember(ws: Workspace, body: Record<string, unknown>) {
  const res = await call("POST", "/v1/members", { key: ws.key, body: { name: "Someone", ...body } });
  if (res.status !== 201) throw new Error(`member creation failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** A key acting as a new member of the given role, made through the public API only. */
export async function keyForRole(ws: Workspace, role: string, scopes?: string[]) {
  const email = `${role}-${unique()}@example.test`;
  const member = await addMember(ws, { email, role });
  // Keys act as their creator; the platform creates a throwaway workspace-less path is
  // not available, so tests mint the key directly in D1 through the same code path.
  const { mintKeyFor } = await import("./mint-key");
  return { member, key: await mintKeyFor(ws.id, member.id, scopes) };
}

export const uniqueSuffix = unique;

/** A distinct client address (CF-Connecting-IP) per call, so per-IP rate limit counters never mix between tests. */
export const newIp = () => {
  const n = Number.parseInt(crypto.randomUUID().slice(0, 6), 16);
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
};

/** Creates a custom role (with a CEL `condition`, if given) through the API with the owner's key and returns its JSON. */
export async function addRole(
  ws: Workspace,
  key: string,
  scopes: string[],
  type: "team" | "customer" = "team",
  condition?: string,
) {
  const res = await call("POST", "/v1/roles", {
    key: ws.key,
    body: { key, name: `Role ${key}`, type, scopes, condition },
  });
  if (res.status !== 201) throw new Error(`role creation failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** The `rows_read=N rows_written=M` pair of a response's Server-Timing d1 metric. */
export function d1Usage(headers: Headers) {
  const timing = headers.get("Server-Timing") ?? "";
  const match = /d1;dur=[\d.]+;desc="rows_read=(\d+) rows_written=(\d+)"/.exec(timing);
  if (!match) throw new Error(`no d1 metric in Server-Timing: "${timing}"`);
  return { rowsRead: Number(match[1]), rowsWritten: Number(match[2]) };
}

/** Follows `nextCursor` from `path` (which already has its query) and returns every page's items. */
export async function walkPages(key: string, path: string) {
  // biome-ignore lint/suspicious/noExplicitAny: tests read JSON bodies freely
  const items: any[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 1000; pages++) {
    const sep = path.includes("?") ? "&" : "?";
    const res = await call("GET", cursor ? `${path}${sep}cursor=${encodeURIComponent(cursor)}` : path, { key });
    if (res.status !== 200) throw new Error(`page failed: ${res.status} ${JSON.stringify(res.body)}`);
    items.push(...res.body.data);
    cursor = res.body.nextCursor;
    if (cursor === null) return items;
  }
  throw new Error("the list never ended");
}
