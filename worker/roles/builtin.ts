import { ALL_SCOPES, type MemberType, type Scope } from "./scopes";

type BuiltInRole = { key: string; name: string; type: MemberType; scopes: Scope[] };

export const MANAGER: BuiltInRole = {
  key: "manager",
  name: "Manager",
  type: "team",
  scopes: ALL_SCOPES.filter((s) => s.endsWith(":admin")),
};

/**
 * Customers: they see their workspace's labels and their own record (and its messages),
 * and change nothing. Reaching only themselves follows from the type, for every customer
 * role (worker/reach/customers.ts), so no condition is stored here.
 */
export const USER: BuiltInRole = {
  key: "user",
  name: "User",
  type: "customer",
  scopes: ["members:read", "labels:read"],
};

export const BUILT_IN_ROLES = [MANAGER, USER];
