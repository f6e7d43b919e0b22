import * as v from "valibot";

export const RESOURCES = [
  "members",
  "labels",
  "invitations",
  "join_requests",
  "roles",
  // Actions (/v1/actions, worker/actions). The scope keeps the product's name for them
  // (spec/product.md lists `automations` among the resources): roles and API keys store
  // it and clients send it, so "automations" is a scope name only; the code says action.
  "automations",
  "workspace",
] as const;
export const LEVELS = ["read", "write", "admin"] as const;
export const MEMBER_TYPES = ["team", "customer"] as const;

export type Resource = (typeof RESOURCES)[number];
export type Level = (typeof LEVELS)[number];
export type Scope = `${Resource}:${Level}`;
export type MemberType = (typeof MEMBER_TYPES)[number];

export const ALL_SCOPES = RESOURCES.flatMap((r) => LEVELS.map((l) => `${r}:${l}` as Scope));

export const ScopeSchema = v.picklist(ALL_SCOPES, "Must be resource:level, e.g. members:write.");
export const ScopesSchema = v.pipe(v.array(ScopeSchema), v.maxLength(ALL_SCOPES.length));

/** `admin` implies `write` implies `read`. */
export function grants(held: readonly Scope[], needed: Scope): boolean {
  const [resource, level] = needed.split(":") as [Resource, Level];
  const rank = LEVELS.indexOf(level);
  return held.some((s) => {
    const [r, l] = s.split(":") as [Resource, Level];
    return r === resource && LEVELS.indexOf(l) >= rank;
  });
}

/** The scopes of `needed` that `held` does not grant, in `needed`'s order. */
export const missingScopes = (held: readonly Scope[], needed: readonly Scope[]): Scope[] =>
  needed.filter((s) => !grants(held, s));

/**
 * What both sets grant, per resource the lower level: a key never exceeds its member's
 * role, and a `members:admin` key of a member whose role now holds `members:write`
 * still writes.
 */
export function narrow(held: readonly Scope[], requested: readonly Scope[]): Scope[] {
  const both = [...requested.filter((s) => grants(held, s)), ...held.filter((s) => grants(requested, s))];
  return [...new Set(both)];
}
