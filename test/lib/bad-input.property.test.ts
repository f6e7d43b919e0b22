import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_BODY as JOIN_REQUEST_MAX_BODY } from "../../worker/join-requests/routes";
import { rowsOnEveryShard, snapshot } from "../db";
import { addMember, addRole, call, newWorkspace, PLATFORM_TOKEN, type Workspace } from "../helpers";

/**
 * Throws bodies that are invalid by construction at every write route that reads a
 * body, and checks each answer is the 4xx that kind of body owes (400 not JSON, 413 too
 * large, 415 not said to be JSON, 422 JSON of the wrong shape) in the contract's error
 * shape, and that the workspace's rows are exactly as before. (Routes without a body, archive, unarchive
 * and deletes, ignore what is sent; one whose body is optional takes an empty one.)
 */

const RUNS = 50;
const MiB = 1024 * 1024;

/** The JSON type a field takes; any value outside it makes the body invalid. */
type Kind = "string" | "nullableString" | "boolean" | "daysInRange" | "array" | "object" | "null" | "never";

const fits: Record<Kind, (value: unknown) => boolean> = {
  string: (value) => typeof value === "string",
  nullableString: (value) => value === null || typeof value === "string",
  boolean: (value) => typeof value === "boolean",
  daysInRange: (value) => Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 365,
  array: Array.isArray,
  object: (value) => typeof value === "object" && value !== null,
  null: (value) => value === null,
  // email and phone in a member edit: any value answers 422 use_credential_change.
  never: () => false,
};

type Setup = { ws: Workspace; memberId: string; joinRequestId: string };

type WriteRoute = {
  method: string;
  path: (s: Setup) => string;
  key: (s: Setup) => string;
  fields: Record<string, Kind>;
  /** A body the route accepts: sent with a wrong content type or padded past the size limit. */
  valid: () => Record<string, unknown>;
  /** The body may be left out: an empty one is valid. */
  optional?: true;
  /** Its own body limit in bytes, below the 1 MiB of the rest. */
  maxBody?: number;
};

/** A public route redeeming a token: its valid body holds a well-formed token nobody issued. */
const tokenRoute = (path: string, prefix: string): WriteRoute => ({
  method: "POST",
  path: () => path,
  key: () => "",
  fields: { token: "string" },
  valid: () => ({ token: `${prefix}_${"A".repeat(43)}` }),
});

const ROUTES: Record<string, WriteRoute> = {
  "POST /v1/workspaces": {
    method: "POST",
    path: () => "/v1/workspaces",
    key: () => PLATFORM_TOKEN,
    fields: { name: "string", slug: "string", owner: "object", allowJoinRequests: "boolean" },
    valid: () => ({ name: "W", slug: `prop-${crypto.randomUUID()}`, owner: { name: "O", email: "o@x.test" } }),
  },
  "PATCH /v1/workspace": {
    method: "PATCH",
    path: () => "/v1/workspace",
    key: (s) => s.ws.key,
    fields: { name: "string", allowJoinRequests: "boolean" },
    valid: () => ({ name: "Renamed" }),
  },
  "POST /v1/members": {
    method: "POST",
    path: () => "/v1/members",
    key: (s) => s.ws.key,
    fields: {
      name: "string",
      email: "string",
      phone: "string",
      role: "string",
      externalId: "string",
      description: "string",
      labels: "array",
    },
    valid: () => ({ name: "New", email: `${crypto.randomUUID()}@x.test`, labels: ["vip"] }),
  },
  "PATCH /v1/members/{id}": {
    method: "PATCH",
    path: (s) => `/v1/members/${s.memberId}`,
    key: (s) => s.ws.key,
    fields: {
      name: "string",
      role: "string",
      externalId: "nullableString",
      description: "nullableString",
      labels: "array",
      email: "never",
      phone: "never",
    },
    valid: () => ({ name: "Renamed", labels: ["gold"] }),
  },
  "POST /v1/members/{id}/labels": {
    method: "POST",
    path: (s) => `/v1/members/${s.memberId}/labels`,
    key: (s) => s.ws.key,
    fields: { labels: "array" },
    valid: () => ({ labels: ["gold"] }),
  },
  "POST /v1/labels": {
    method: "POST",
    path: () => "/v1/labels",
    key: (s) => s.ws.key,
    fields: { name: "string", slug: "string", color: "string", description: "string" },
    valid: () => ({ name: "Gold" }),
  },
  "POST /v1/roles": {
    method: "POST",
    path: () => "/v1/roles",
    key: (s) => s.ws.key,
    fields: { key: "string", name: "string", type: "string", scopes: "array", condition: "nullableString" },
    valid: () => ({ key: "fresh", name: "Fresh", type: "team", scopes: ["members:read"] }),
  },
  "PATCH /v1/roles/{key}": {
    method: "PATCH",
    path: () => "/v1/roles/custom",
    key: (s) => s.ws.key,
    fields: { name: "string", type: "string", scopes: "array", condition: "nullableString" },
    valid: () => ({ name: "Renamed" }),
  },
  "POST /v1/api-keys": {
    method: "POST",
    path: () => "/v1/api-keys",
    key: (s) => s.ws.key,
    fields: { name: "string", scopes: "array", expiresInDays: "daysInRange" },
    valid: () => ({ name: "Integration", expiresInDays: 30 }),
  },
  "POST /v1/invitations": {
    method: "POST",
    path: () => "/v1/invitations",
    key: (s) => s.ws.key,
    fields: { email: "string", phone: "string", role: "string", name: "string" },
    valid: () => ({ email: `${crypto.randomUUID()}@x.test`, role: "user" }),
  },
  "POST /v1/invitations/accept": tokenRoute("/v1/invitations/accept", "lmi"),
  "POST /v1/auth/login": {
    method: "POST",
    path: () => "/v1/auth/login",
    key: () => "",
    fields: { workspace: "string", email: "string" },
    valid: () => ({ workspace: "nope", email: "a@x.test" }),
  },
  "POST /v1/auth/verify": tokenRoute("/v1/auth/verify", "lms"),
  "POST /v1/credential-changes/confirm": tokenRoute("/v1/credential-changes/confirm", "lmx"),
  "POST /v1/members/{id}/credential-changes": {
    method: "POST",
    path: (s) => `/v1/members/${s.memberId}/credential-changes`,
    key: (s) => s.ws.key,
    fields: { kind: "string", value: "string" },
    valid: () => ({ kind: "email", value: `${crypto.randomUUID()}@x.test` }),
  },
  "POST /v1/join-requests/{id}/approve": {
    method: "POST",
    path: (s) => `/v1/join-requests/${s.joinRequestId}/approve`,
    key: (s) => s.ws.key,
    fields: { role: "string" },
    valid: () => ({ role: "user" }),
    optional: true,
  },
  "POST /public/{slug}/join-requests": {
    method: "POST",
    path: (s) => `/public/${s.ws.slug}/join-requests`,
    key: () => "",
    fields: { name: "string", email: "string", phone: "string", message: "string", turnstileToken: "string" },
    valid: () => ({ name: "J", email: `${crypto.randomUUID()}@x.test` }),
    maxBody: JOIN_REQUEST_MAX_BODY,
  },
  "POST /v1/actions": {
    method: "POST",
    path: () => "/v1/actions",
    key: (s) => s.ws.key,
    fields: { name: "string", trigger: "string", condition: "nullableString", action: "object" },
    valid: () => ({ name: "A", trigger: "member.created", action: { type: "label", add: ["x"] } }),
  },
  "PUT /v1/settings/sms": {
    method: "PUT",
    path: () => "/v1/settings/sms",
    key: (s) => s.ws.key,
    fields: { provider: "string", accountSid: "string", authToken: "string", numbers: "array" },
    valid: () => ({
      provider: "twilio",
      accountSid: `AC${"0".repeat(32)}`,
      authToken: "t".repeat(32),
      numbers: ["+14155550100"],
    }),
  },
};

/** What is sent: the raw body, its content type (none when undefined), and the status it must get if known. */
type Attempt = { body: string | Uint8Array; contentType?: string; status?: number };

const json = (body: unknown): Attempt => ({ body: JSON.stringify(body), contentType: "application/json" });
/** A JSON body of the wrong shape: 422, naming what is wrong. */
const wrongShape = (body: unknown): Attempt => ({ ...json(body), status: 422 });

const isJsonText = (text: string) => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};

const WRONG_CONTENT_TYPES = [
  "text/plain",
  "text/plain;charset=UTF-8",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  "application/xml",
  "application/jsonx",
  "application/json-seq",
  "application/json/extra",
  "application/json, text/plain",
  "json",
  "",
];

function attempts(route: WriteRoute): fc.Arbitrary<Attempt> {
  const known = Object.keys(route.fields);
  const unknownKey = fc.string({ minLength: 1 }).filter((k) => !known.includes(k) && k !== "__proto__");
  const onlyKnownKeys = (value: unknown) =>
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    Object.keys(value).every((k) => known.includes(k));
  const knownFields = fc.record(Object.fromEntries(known.map((k) => [k, fc.jsonValue({ maxDepth: 3 })])), {
    requiredKeys: [],
  });
  const field = fc.constantFrom(...known);
  const huge = fc
    .tuple(fc.integer({ min: 2001, max: 200_000 }), fc.constantFrom("a", "é", "7", " ", "-", "@", "+", "\u{1F600}"))
    .map(([length, ch]) => ch.repeat(length));

  return fc
    .oneof(
      // Any JSON value but an object of known fields only, which could be valid.
      fc
        .jsonValue({ maxDepth: 4, stringUnit: "binary" })
        .filter((value) => !onlyKnownKeys(value))
        .map(wrongShape),
      // Known fields with any values, plus at least one unknown field.
      fc
        .tuple(knownFields, fc.dictionary(unknownKey, fc.jsonValue({ maxDepth: 2 }), { minKeys: 1, maxKeys: 3 }))
        .map(([fields, extra]) => wrongShape({ ...fields, ...extra })),
      // One known field of the wrong type.
      fc
        .tuple(knownFields, field, fc.jsonValue({ maxDepth: 2 }))
        .filter(([, name, value]) => !fits[route.fields[name] as Kind](value))
        .map(([fields, name, value]) => wrongShape({ ...fields, [name]: value })),
      // One known field holding a huge string (in a list for list fields).
      // (Past a route's own body limit, 413 comes first.)
      fc.tuple(knownFields, field, huge).map(([fields, name, text]) => {
        const kind = route.fields[name] as Kind;
        const value = kind === "array" ? [text] : kind === "object" ? { name: text, email: text } : text;
        const attempt = wrongShape({ ...fields, [name]: value });
        const tooLarge = new TextEncoder().encode(attempt.body as string).byteLength > (route.maxBody ?? MiB);
        return tooLarge ? { ...attempt, status: 413 } : attempt;
      }),
      // Text that is not JSON, said to be JSON.
      fc
        .oneof(
          fc.string({ unit: "binary" }),
          fc.nat().map((n) => JSON.stringify(route.valid()).slice(0, n % JSON.stringify(route.valid()).length)),
        )
        .filter((text) => !isJsonText(text))
        .map((text): Attempt => ({ body: text, contentType: "application/json", status: 400 })),
      // Random bytes said to be JSON: 400 unless, read as UTF-8, they happen to be JSON.
      fc.uint8Array({ maxLength: 64 }).map(
        (bytes): Attempt => ({
          body: bytes,
          contentType: "application/json",
          status: isJsonText(new TextDecoder().decode(bytes)) ? 422 : 400,
        }),
      ),
      // A valid body with a content type that is not JSON, or none.
      fc
        .constantFrom(...WRONG_CONTENT_TYPES, undefined)
        .map((contentType): Attempt => ({ body: JSON.stringify(route.valid()), contentType, status: 415 })),
      // A valid body padded with whitespace past the 1 MiB limit.
      fc.integer({ min: 1, max: MiB / 4 }).map(
        (extra): Attempt => ({
          body: `${JSON.stringify(route.valid())}${" ".repeat(MiB + extra)}`,
          contentType: "application/json",
          status: 413,
        }),
      ),
    )
    .filter((attempt) => !(route.optional && isBlank(attempt.body)));
}

const isBlank = (body: string | Uint8Array) =>
  (typeof body === "string" ? body : new TextDecoder().decode(body)).trim() === "";

async function send(route: WriteRoute, s: Setup, attempt: Attempt) {
  const headers: Record<string, string> = {};
  if (attempt.contentType !== undefined) headers["Content-Type"] = attempt.contentType;
  // A Uint8Array body carries no content type of its own; a string one would say text/plain.
  const rawBody = typeof attempt.body === "string" ? new TextEncoder().encode(attempt.body) : attempt.body;
  return call(route.method, route.path(s), { key: route.key(s), rawBody, headers });
}

function expectContractError(res: Awaited<ReturnType<typeof call>>, attempt: Attempt) {
  const context = `${res.status} ${JSON.stringify(res.body).slice(0, 300)}`;
  expect(res.status, context).toBeGreaterThanOrEqual(400);
  expect(res.status, context).toBeLessThan(500);
  if (attempt.status !== undefined) expect(res.status, context).toBe(attempt.status);
  expect(res.body, context).toMatchObject({
    error: { code: expect.stringMatching(/^[a-z]+(_[a-z]+)*$/), message: expect.any(String) },
  });
  for (const issue of res.body.error.issues ?? []) {
    expect(issue, context).toEqual({ path: expect.any(String), message: expect.any(String) });
  }
}

async function setup(): Promise<Setup> {
  const ws = await newWorkspace({ allowJoinRequests: true });
  await addRole(ws, "custom", ["members:read"]);
  const member = await addMember(ws, { name: "Pat Target", email: "pat@x.test", labels: ["vip"] });
  await call("POST", `/public/${ws.slug}/join-requests`, { body: { name: "Jo", email: "jo@x.test" } });
  const [joinRequest] = (await call("GET", "/v1/join-requests", { key: ws.key })).body.data;
  return { ws, memberId: member.id, joinRequestId: joinRequest.id };
}

describe("bad input never changes data and always gets a 4xx in the contract's error shape", () => {
  for (const [name, route] of Object.entries(ROUTES)) {
    it(`for ${name}`, async () => {
      const s = await setup();
      const before = await snapshot(s.ws.id);
      await fc.assert(
        fc.asyncProperty(attempts(route), async (attempt) => {
          const res = await send(route, s, attempt);
          expectContractError(res, attempt);
          expect(await snapshot(s.ws.id)).toEqual(before);
          if (name === "POST /v1/workspaces") {
            expect(await rowsOnEveryShard("select slug from workspaces where slug like 'prop-%'")).toEqual([]);
            const orphans = await rowsOnEveryShard(
              "select workspace_id from roles where workspace_id not in (select id from workspaces)",
            );
            expect(orphans).toEqual([]);
          }
        }),
        { numRuns: RUNS },
      );
    });
  }

  it("accepts each route's valid body as JSON, so the attempts above fail for the reason given", async () => {
    for (const [name, route] of Object.entries(ROUTES)) {
      const s = await setup();
      const res = await send(route, s, json(route.valid()));
      const context = `${route.method} ${route.path(s)}: ${JSON.stringify(res.body)}`;
      // A token route's valid body holds a well-formed token nobody issued: past validation, not found.
      if (/accept|verify|confirm/.test(name)) {
        expect(res.status, context).toBe(404);
        expect(res.body.error.code, context).toBe("unknown_token");
      } else {
        expect(res.status, context).toBeLessThan(300);
      }
    }
  });
});
