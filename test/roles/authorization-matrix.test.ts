import { describe, expect, it } from "vitest";
import { snapshot } from "../db";
import { addMember, addRole, call, keyForRole, newWorkspace, uniqueSuffix, type Workspace } from "../helpers";

type Request = [method: string, path: string, body?: unknown];

/**
 * Every route taking an API key, with what it needs prepared by the owner. Targets are
 * members of the scope-less customer role `contact`, so any members:write caller may
 * manage them (a customer caller, who reaches only themselves, gets 404 for them); names
 * are unique because one workspace serves every route of a caller.
 */
const ROUTES: Record<string, (ws: Workspace) => Promise<Request>> = {
  "GET /v1/workspace": async () => ["GET", "/v1/workspace"],
  "PATCH /v1/workspace": async () => ["PATCH", "/v1/workspace", { name: "Renamed" }],
  "POST /v1/members": async () => [
    "POST",
    "/v1/members",
    { name: "New", email: `${uniqueSuffix()}@x.test`, role: "contact" },
  ],
  "GET /v1/members": async () => ["GET", "/v1/members"],
  "GET /v1/members/{id}": async (ws) => ["GET", `/v1/members/${(await target(ws)).id}`],
  "PATCH /v1/members/{id}": async (ws) => ["PATCH", `/v1/members/${(await target(ws)).id}`, { name: "Renamed" }],
  "POST /v1/members/{id}/archive": async (ws) => ["POST", `/v1/members/${(await target(ws)).id}/archive`],
  "POST /v1/members/{id}/unarchive": async (ws) => {
    const member = await target(ws);
    await call("POST", `/v1/members/${member.id}/archive`, { key: ws.key });
    return ["POST", `/v1/members/${member.id}/unarchive`];
  },
  "POST /v1/members/{id}/labels": async (ws) => [
    "POST",
    `/v1/members/${(await target(ws)).id}/labels`,
    { labels: ["new-label"] },
  ],
  "DELETE /v1/members/{id}/labels/{slug}": async (ws) => ["DELETE", `/v1/members/${(await target(ws)).id}/labels/vip`],
  "GET /v1/labels": async () => ["GET", "/v1/labels"],
  "POST /v1/labels": async () => ["POST", "/v1/labels", { name: "Gold" }],
  "DELETE /v1/labels/{slug}": async (ws) => {
    await target(ws, "doomed");
    return ["DELETE", "/v1/labels/doomed"];
  },
  "GET /v1/roles": async () => ["GET", "/v1/roles"],
  "POST /v1/roles": async () => ["POST", "/v1/roles", { key: "fresh", name: "Fresh", type: "customer", scopes: [] }],
  "PATCH /v1/roles/{key}": async (ws) => {
    await addRole(ws, "spare-patched", []);
    return ["PATCH", "/v1/roles/spare-patched", { name: "Renamed" }];
  },
  "DELETE /v1/roles/{key}": async (ws) => {
    await addRole(ws, "spare-deleted", []);
    return ["DELETE", "/v1/roles/spare-deleted"];
  },
  "GET /v1/api-keys": async () => ["GET", "/v1/api-keys"],
  "POST /v1/api-keys": async () => ["POST", "/v1/api-keys", { name: "Integration" }],
  "DELETE /v1/api-keys/{id}": async (ws) => {
    // A contact's key: revoking the owner's would need the owner's rank as well.
    const { member } = await keyForRole(ws, "contact");
    const keys = await call("GET", "/v1/api-keys", { key: ws.key });
    const key = keys.body.data.find((k: { memberId: string }) => k.memberId === member.id);
    return ["DELETE", `/v1/api-keys/${key.id}`];
  },
};

type RouteName = keyof typeof ROUTES;

const target = (ws: Workspace, label = "vip") =>
  addMember(ws, { name: "Tess Target", email: `${uniqueSuffix()}@x.test`, role: "contact", labels: [label] });

const MEMBERS_READ: RouteName[] = ["GET /v1/members", "GET /v1/members/{id}"];
const MEMBERS_WRITE: RouteName[] = [
  ...MEMBERS_READ,
  "POST /v1/members",
  "PATCH /v1/members/{id}",
  "POST /v1/members/{id}/archive",
  "POST /v1/members/{id}/unarchive",
  "POST /v1/members/{id}/labels",
  "DELETE /v1/members/{id}/labels/{slug}",
];
const LABELS_READ: RouteName[] = ["GET /v1/labels"];
const LABELS_WRITE: RouteName[] = [...LABELS_READ, "POST /v1/labels"];
const LABELS_ADMIN: RouteName[] = [...LABELS_WRITE, "DELETE /v1/labels/{slug}"];
const ROLES_READ: RouteName[] = ["GET /v1/roles"];
const ROLES_ADMIN: RouteName[] = [...ROLES_READ, "POST /v1/roles", "PATCH /v1/roles/{key}", "DELETE /v1/roles/{key}"];
const WORKSPACE_READ: RouteName[] = ["GET /v1/workspace"];
const WORKSPACE_ADMIN: RouteName[] = [
  ...WORKSPACE_READ,
  "PATCH /v1/workspace",
  "GET /v1/api-keys",
  "POST /v1/api-keys",
  "DELETE /v1/api-keys/{id}",
];
const EVERYTHING = Object.keys(ROUTES) as RouteName[];

type Caller = {
  name: string;
  /** A built-in role, or a custom one made with these scopes and type. */
  role: string | { scopes: string[]; type: "team" | "customer" };
  /** The key's own scopes, when narrower than the role's. */
  keyScopes?: string[];
  allowed: RouteName[];
  /** Allowed routes that answer 404 here: customers reach only themselves, and the target is another member. */
  hidden?: RouteName[];
};

const CALLERS: Caller[] = [
  { name: "the built-in manager role", role: "manager", allowed: EVERYTHING },
  {
    name: "the built-in user role (customer)",
    role: "user",
    allowed: [...MEMBERS_READ, ...LABELS_READ],
    hidden: ["GET /v1/members/{id}"],
  },
  { name: "a members:read role", role: { scopes: ["members:read"], type: "team" }, allowed: MEMBERS_READ },
  { name: "a members:write role", role: { scopes: ["members:write"], type: "team" }, allowed: MEMBERS_WRITE },
  { name: "a members:admin role", role: { scopes: ["members:admin"], type: "team" }, allowed: MEMBERS_WRITE },
  { name: "a labels:write role", role: { scopes: ["labels:write"], type: "team" }, allowed: LABELS_WRITE },
  { name: "a labels:admin role", role: { scopes: ["labels:admin"], type: "team" }, allowed: LABELS_ADMIN },
  { name: "a roles:read role", role: { scopes: ["roles:read"], type: "team" }, allowed: ROLES_READ },
  { name: "a roles:admin role", role: { scopes: ["roles:admin"], type: "team" }, allowed: ROLES_ADMIN },
  { name: "a workspace:read role", role: { scopes: ["workspace:read"], type: "team" }, allowed: WORKSPACE_READ },
  { name: "a workspace:admin role", role: { scopes: ["workspace:admin"], type: "team" }, allowed: WORKSPACE_ADMIN },
  {
    name: "a customer role reading members and labels",
    role: { scopes: ["members:read", "labels:read"], type: "customer" },
    allowed: [...MEMBERS_READ, ...LABELS_READ],
    hidden: ["GET /v1/members/{id}"],
  },
  { name: "a role without scopes", role: { scopes: [], type: "team" }, allowed: [] },
  {
    name: "a manager key narrowed to members:read",
    role: "manager",
    keyScopes: ["members:read"],
    allowed: MEMBERS_READ,
  },
  {
    name: "a manager key narrowed to labels:admin and roles:read",
    role: "manager",
    keyScopes: ["labels:admin", "roles:read"],
    allowed: [...LABELS_ADMIN, ...ROLES_READ],
  },
];

async function keyFor(ws: Workspace, caller: Caller) {
  const role = typeof caller.role === "string" ? caller.role : "under-test";
  if (typeof caller.role !== "string") await addRole(ws, role, caller.role.scopes, caller.role.type);
  return (await keyForRole(ws, role, caller.keyScopes)).key;
}

const outcome = (allowed: boolean) => (allowed ? "served" : "403 forbidden");
const HIDDEN = "404 not_found (out of reach)";

// Each test has its own workspace, so they may overlap while waiting on D1.
describe.concurrent("authorization matrix: role x route", () => {
  for (const caller of CALLERS) {
    it(`a key of ${caller.name} is served by the routes its scopes grant and gets 403 forbidden from the rest`, async () => {
      const ws = await newWorkspace();
      await addRole(ws, "contact", [], "customer");
      const key = await keyFor(ws, caller);
      const expected: Record<string, string> = {};
      const actual: Record<string, string> = {};
      for (const [route, prepare] of Object.entries(ROUTES)) {
        expected[route] = caller.hidden?.includes(route) ? HIDDEN : outcome(caller.allowed.includes(route));
        const [method, path, body] = await prepare(ws);
        const before = await snapshot(ws.id);
        const res = await call(method, path, { key, body });
        if (res.status >= 200 && res.status < 300) {
          actual[route] = outcome(true);
        } else if (res.status === 403 && res.body.error?.code === "forbidden") {
          actual[route] = outcome(false);
          expect(res.body.error.message, route).toEqual(expect.any(String));
          expect(await snapshot(ws.id), `${route} changed data`).toEqual(before);
        } else if (res.status === 404 && res.body.error?.code === "not_found") {
          actual[route] = HIDDEN;
          expect(await snapshot(ws.id), `${route} changed data`).toEqual(before);
        } else {
          actual[route] = `${res.status} ${JSON.stringify(res.body)}`;
        }
      }
      expect(actual).toEqual(expected);
    });
  }
});
