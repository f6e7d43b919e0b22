import { and, eq, isNull } from "drizzle-orm";
import { appendEvent } from "../events/append";
import type { Db } from "../lib/db";
import { roleOfMember } from "../members/role-of";
import { type MemberStatus, members } from "../members/table";
import { missingScopes, type Scope } from "../roles/scopes";
import { roles } from "../roles/table";
import { type ActionSpec, actions } from "./table";
import { type Trigger, triggerNeeds } from "./triggers";

/**
 * An action acts with its creator's scopes: it reads what its trigger's events carry and
 * does what its action does, for every member the log names, long after its creator
 * clicked. So creating one needs the scopes of both (beside automations:admin), and it
 * runs only while its creator still holds them: an active member whose role grants them
 * and has no condition (a conditioned caller may not create actions at all, see
 * ./routes.ts, which also keeps the actor-label rule of worker/reach/actor-labels.ts: a
 * conditioned role never stands behind a label action). Otherwise it pauses, for good.
 * What the trigger needs is in ./triggers.ts.
 */
const ACTION_NEEDS: Record<ActionSpec["type"], { scope: Scope; does: string }[]> = {
  webhook: [],
  label: [
    { scope: "members:write", does: "a label action changes members" },
    { scope: "labels:write", does: "a label action gives labels, creating those that do not exist" },
  ],
  email: [{ scope: "members:write", does: "an email action writes to members" }],
  sms: [{ scope: "members:write", does: "an SMS action writes to members" }],
};

type Defined = { trigger: Trigger; action: Pick<ActionSpec, "type"> };

/** Every scope an action needs, its creator's while it runs. */
function scopesNeeded({ trigger, action }: Defined): Scope[] {
  const needed: Scope[] = [
    "automations:admin",
    triggerNeeds(trigger).scope,
    ...ACTION_NEEDS[action.type].map((n) => n.scope),
  ];
  return [...new Set(needed)];
}

/** Why the caller may not create the action (the scopes they lack, each with its reason), or null when they may. */
export function creationRefusal(held: readonly Scope[], defined: Defined): string | null {
  const missing = missingScopes(held, scopesNeeded(defined));
  if (missing.length === 0) return null;
  const trigger = triggerNeeds(defined.trigger);
  const reasons = [
    ...(missing.includes(trigger.scope) ? [`${defined.trigger} events carry ${trigger.carries}`] : []),
    ...ACTION_NEEDS[defined.action.type].filter((n) => missing.includes(n.scope)).map((n) => n.does),
  ];
  return `An action acts with its creator's scopes, and this one needs ${missing.join(", ")}, which you do not hold${reasons.length > 0 ? ` (${reasons.join("; ")})` : ""}.`;
}

/** The creator as a run judges them: null fields when the member or their role is gone. */
export type Creator = { status: MemberStatus | null; scopes: Scope[] | null; condition: string | null };

/** The creator's columns, for a select over `actions` joined by `creatorOn` and `creatorRoleOn`. */
export const creatorColumns = { status: members.status, scopes: roles.scopes, condition: roles.condition };

/** Left joins from `actions` to its creator and their role. */
export const creatorOn = and(eq(members.workspaceId, actions.workspaceId), eq(members.id, actions.createdBy));
export const creatorRoleOn = roleOfMember;

/** Why the action may not run now (it pauses), or null when its creator still stands behind it. */
export function runRefusal(action: Defined & { createdBy: string | null }, creator: Creator): string | null {
  const needed = scopesNeeded(action);
  if (!action.createdBy) {
    return `It was created before actions recorded their creator, so nobody's scopes stand behind it: someone holding ${needed.join(", ")} may create it again.`;
  }
  const who = `Its creator (${action.createdBy})`;
  if (creator.status === null) return `${who} no longer exists.`;
  if (creator.status !== "active") return `${who} is ${creator.status}: an action runs with its creator's scopes.`;
  if (creator.scopes === null) return `${who} has a role that no longer exists.`;
  if (creator.condition !== null) {
    return `${who} now has a role with a condition, and an action runs on members beyond any condition.`;
  }
  const missing = missingScopes(creator.scopes, needed);
  if (missing.length > 0) return `${who} no longer holds ${missing.join(", ")}, which it needs.`;
  return null;
}

/**
 * Pauses the action for good, with why, and appends `action.paused`: for a batch. Only
 * the first pause counts (a run and a delivery may find it at once); the update's
 * `changes` say whether this one did.
 */
export function pauseStatements(
  db: Db,
  action: { id: string; workspaceId: string; name: string },
  reason: string,
  at: string,
) {
  return [
    db
      .update(actions)
      .set({ pausedAt: at, pausedReason: reason })
      .where(and(eq(actions.id, action.id), isNull(actions.pausedAt))),
    appendEvent(
      db,
      action.workspaceId,
      "action.paused",
      { id: action.id, name: action.name, reason },
      { onlyIfChanged: true },
    ),
  ] as const;
}
