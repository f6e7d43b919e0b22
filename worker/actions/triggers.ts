import { EVENT_FAMILIES, type EventFamily } from "../events/families";
import { isEventType } from "../events/registry";
import type { Scope } from "../roles/scopes";

/**
 * A trigger names an event type (`member.created`) or a family of them (`member.*`): an
 * action runs for every event of that type, or of any type of that family, types added
 * later included.
 */
export type Trigger = string;

const FAMILY_SUFFIX = ".*";

const familyOfTrigger = (trigger: Trigger) => trigger.split(".", 1)[0] as EventFamily;

/** Whether `trigger` names an event type of the registry or a family of them. */
export function isTrigger(trigger: string): boolean {
  if (!trigger.endsWith(FAMILY_SUFFIX)) return isEventType(trigger);
  return Object.hasOwn(EVENT_FAMILIES, trigger.slice(0, -FAMILY_SUFFIX.length));
}

/** Whether an event of `type` runs an action with `trigger`. */
export function triggerMatches(trigger: Trigger, type: string): boolean {
  if (!trigger.endsWith(FAMILY_SUFFIX)) return trigger === type;
  return type.startsWith(trigger.slice(0, -1));
}

/**
 * The scope an action's creator needs to have its trigger's events read for them: the
 * one that reads the family on the live stream and over REST (worker/events/families.ts),
 * except texts, whose anonymous senders need members:admin (worker/anonymous/access.ts).
 */
export function triggerNeeds(trigger: Trigger): { scope: Scope; carries: string } {
  const family = familyOfTrigger(trigger);
  if (family === "message")
    return { scope: "members:admin", carries: "every inbound text, anonymous senders' included" };
  if (family === "join_request") {
    return { scope: "join_requests:read", carries: "the requester's name, email, phone and message" };
  }
  return { scope: EVENT_FAMILIES[family].read, carries: `${family} records` };
}

/** Whether the trigger's events name a member a label action could change: members' own events and texts. */
export const triggerHasMember = (trigger: Trigger) => ["member", "message"].includes(familyOfTrigger(trigger));
