/** The browser's side of the HTTP API: same origin, session cookie, one error shape. */

export type Issue = { path: string; message: string };

/** An answer outside 2xx, in the API's error shape (spec/api.md). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues: Issue[] = [],
  ) {
    super(message);
  }

  /** Field errors by field name, for forms. */
  fieldErrors(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const issue of this.issues) {
      const field = issue.path.split(".")[0] ?? issue.path;
      out[field] ??= issue.message;
    }
    return out;
  }
}

export type Member = {
  id: string;
  name: string;
  email: string | null;
  phone: string | null;
  role: string;
  type: "team" | "customer";
  externalId: string | null;
  labels: string[];
  status: string;
  createdAt: string;
  updatedAt: string;
};

export type Invitation = {
  id: string;
  memberId: string;
  email: string | null;
  phone: string | null;
  role: string;
  status: string;
  expiresAt: string;
  createdAt: string;
};

export type JoinRequest = {
  id: string;
  name: string;
  email: string;
  phone: string | null;
  message: string | null;
  status: string;
  createdAt: string;
};

export type Page<T> = { data: T[]; nextCursor: string | null };
export type Role = { key: string; name: string; type: "team" | "customer" };
export type Label = { slug: string; name: string; color?: string | null };
export type Workspace = { id: string; slug: string; name: string; allowJoinRequests: boolean };

/**
 * JSON in, JSON out. Writes carry the session cookie; the browser adds the Origin
 * header the server's CSRF check asks for on same-origin POSTs.
 */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      credentials: "same-origin",
      headers: body === undefined ? { Accept: "application/json" } : { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "network", "The server could not be reached. Check your connection and try again.");
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!res.ok) {
    const error = (json as { error?: { code?: string; message?: string; issues?: Issue[] } } | null)?.error;
    throw new ApiError(
      res.status,
      error?.code ?? "error",
      error?.message ?? `Request failed (${res.status}).`,
      error?.issues,
    );
  }
  return json as T;
}

/**
 * Every item of a list, following `nextCursor` page by page (100 a page). For short lists
 * the view shows whole, such as labels and roles.
 */
export async function allPages<T>(path: string): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  do {
    const query: string = queryString({ limit: "100", cursor: cursor ?? undefined });
    const page: Page<T> = await api<Page<T>>("GET", `${path}${query}`);
    items.push(...page.data);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return items;
}

/** A query string from the set values, repeating arrays (label=a&label=b). */
export function queryString(params: Record<string, string | string[] | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === "") continue;
    for (const one of Array.isArray(value) ? value : [value]) search.append(key, one);
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

export const errorMessage = (error: unknown) =>
  error instanceof ApiError ? error.message : "Something went wrong. Please try again.";
