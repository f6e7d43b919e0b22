import { grants, type Scope } from "../roles/scopes";

type Rule = { read: Scope; own?: boolean };

/**
 * Every family of events the workspace log holds (the part of `type` before the dot), and
 * who may watch it on the live stream: the scope that REST asks to read the same resource,
 * so the stream never shows what a list or a GET would refuse. `own`: the event's `member`
 * may watch it too (their own API keys). The event registry (./registry.ts) holds types of
 * these families only, so a new one cannot reach the log without a rule here.
 */
export const EVENT_FAMILIES = {
  /** GET /v1/members and a member's history. */
  member: { read: "members:read" },
  message: { read: "members:read" },
  /** Sign-ins and sign-outs of a member (no token: only the session's id). */
  session: { read: "members:read" },
  label: { read: "labels:read" },
  role: { read: "roles:read" },
  invitation: { read: "invitations:read" },
  join_request: { read: "join_requests:read" },
  /** Webhook URLs, message texts and conditions, as GET /v1/actions shows them. */
  action: { read: "automations:read" },
  /** The SMS provider's account and numbers, as GET /v1/settings/sms shows them. */
  settings: { read: "workspace:admin" },
  workspace: { read: "workspace:read" },
  /** As GET /v1/api-keys; the key's own member learns of their keys too. */
  api_key: { read: "workspace:admin", own: true },
  /** Who is changing which credential, to where it was sent: as GET /v1/members/{id}/credential-changes. */
  credential_change: { read: "members:admin" },
} as const satisfies Record<string, Rule>;

export type EventFamily = keyof typeof EVENT_FAMILIES;

const FAMILIES = Object.keys(EVENT_FAMILIES) as EventFamily[];
const ruleOf = (family: EventFamily): Rule => EVENT_FAMILIES[family];

/** The family of an event type; undefined for a type of no known family, which goes to nobody. */
export function familyOf(type: string): EventFamily | undefined {
  const family = type.split(".", 1)[0] ?? "";
  return Object.hasOwn(EVENT_FAMILIES, family) ? (family as EventFamily) : undefined;
}

/** The families whose every event a watcher holding `scopes` may be sent, whoever they are about. */
export const watchedFamilies = (scopes: readonly Scope[]): EventFamily[] =>
  FAMILIES.filter((family) => grants(scopes, ruleOf(family).read));

/**
 * What a watcher holding `scopes` (its role's, narrowed by its key's) may be sent, worked out
 * once per watcher: `every` family, or per event whether its family `admits` it (`isOwn`:
 * whether the event's member is the watcher, asked only for an `own` family it does not read).
 */
export function familyFilter(scopes: readonly Scope[]) {
  const watched = new Set(watchedFamilies(scopes));
  return {
    every: watched.size === FAMILIES.length,
    admits: (family: EventFamily | undefined, isOwn: () => boolean) =>
      family !== undefined && (watched.has(family) || (ruleOf(family).own === true && isOwn())),
  };
}
