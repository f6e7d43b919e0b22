import * as v from "valibot";
import { MAX_SOURCE } from "../cel/cel";
import { Cursor, Limit, Name, Slug, Timestamp } from "../lib/fields";
import { decodesToKey } from "./signature";
import { RUN_STATUSES } from "./table";
import { isTrigger } from "./triggers";

const Url = v.pipe(
  v.string(),
  v.maxLength(2000),
  v.url("Enter an absolute URL."),
  v.regex(/^https?:\/\//i, "Use an http or https URL."),
  v.description(
    "A public http(s) endpoint. Refused (422): credentials in the URL, localhost, loopback, private, link-local, multicast and other special-purpose IP literals (IPv4, IPv6, and IPv4-mapped IPv6 forms of refused IPv4 blocks), and .internal/.local names. Deliveries never follow redirects: a 3xx answer is a failed attempt.",
  ),
);

const SECRET_FORM = "A Standard Webhooks secret: whsec_ and base64 of 24 to 64 bytes.";

const SECRET_PATTERN = /^whsec_[A-Za-z0-9+/]{32,88}={0,2}$/;

/**
 * Standard Webhooks secrets: "whsec_" and base64 of 24 to 64 bytes. The pattern (what
 * OpenAPI shows) lets through lengths and paddings that are not base64, which atob
 * refuses, so every delivery would fail: the secret is also decoded as signing decodes
 * it. Valibot runs every check of a pipe, so the decoding skips what the pattern refused
 * (one issue, not two). Every message is SECRET_FORM: valibot's own would quote the value back.
 */
export const Secret = v.pipe(
  v.string(SECRET_FORM),
  v.regex(SECRET_PATTERN, SECRET_FORM),
  v.check((secret) => !SECRET_PATTERN.test(secret) || decodesToKey(secret), SECRET_FORM),
  v.description(SECRET_FORM),
);
const Labels = v.pipe(v.array(Slug), v.maxLength(20));

export const ActionInput = v.variant("type", [
  v.strictObject({ type: v.literal("webhook"), url: Url, secret: v.optional(Secret) }),
  v.pipe(
    v.strictObject({ type: v.literal("label"), add: v.optional(Labels), remove: v.optional(Labels) }),
    v.check((a) => (a.add?.length ?? 0) + (a.remove?.length ?? 0) > 0, "Give labels to add or remove."),
  ),
  v.strictObject({ type: v.literal("email"), text: v.pipe(v.string(), v.minLength(1), v.maxLength(2000)) }),
  v.strictObject({ type: v.literal("sms"), text: v.pipe(v.string(), v.minLength(1), v.maxLength(1000)) }),
]);

const TRIGGER =
  "An event type (`member.created`) or a family of them (`member.*`, `invitation.*`): the action runs for each such event logged after it was created.";
const Trigger = v.pipe(
  v.string(),
  v.check(isTrigger, "Name an event type (e.g. member.created) or a family (e.g. member.*)."),
  v.description(TRIGGER),
);
const Condition = v.nullable(
  v.pipe(
    v.string(),
    v.maxLength(MAX_SOURCE),
    v.description("CEL over `member` and `event` (bool): the action runs only when it is true."),
  ),
);

export const CreateAction = v.strictObject({
  name: Name,
  trigger: Trigger,
  condition: v.optional(Condition),
  action: ActionInput,
});

export const PatchAction = v.strictObject({
  name: v.optional(Name),
  condition: v.optional(Condition),
  action: v.optional(ActionInput),
  paused: v.optional(
    v.pipe(
      v.boolean(),
      v.description(
        "true pauses it (it runs for no event until resumed, and its pending deliveries stop); false resumes it for events logged from then on, with the caller standing behind it.",
      ),
    ),
  ),
});

export const ActionJson = v.object({
  id: v.string(),
  name: v.string(),
  trigger: v.pipe(v.string(), v.description(TRIGGER)),
  condition: v.nullable(v.string()),
  action: v.union([
    v.object({ type: v.literal("webhook"), url: v.string() }),
    v.object({ type: v.literal("label"), add: v.array(v.string()), remove: v.array(v.string()) }),
    v.object({ type: v.picklist(["email", "sms"]), text: v.string() }),
  ]),
  createdAt: Timestamp,
  createdBy: v.pipe(
    v.nullable(v.string()),
    v.description(
      "The member who created it: it runs with their scopes. Null for actions created before creators were recorded, which pause at their next run.",
    ),
  ),
  paused: v.pipe(
    v.boolean(),
    v.description(
      "True while it does not run: paused with PATCH, or because its creator was no longer active or no longer held a scope it needs (`pausedReason` says which). PATCH `paused: false` resumes it.",
    ),
  ),
  pausedAt: v.nullable(Timestamp),
  pausedReason: v.pipe(v.nullable(v.string()), v.description("Why it paused; null while it runs.")),
});

export const CreatedActionJson = v.object({
  ...ActionJson.entries,
  secret: v.optional(v.pipe(v.string(), v.description("The webhook's signing secret, shown this once."))),
});

export const DeliveryJson = v.object({
  id: v.pipe(v.string(), v.description("The webhook-id header: the same on every retry.")),
  seq: v.number(),
  eventType: v.string(),
  status: v.pipe(
    v.picklist(RUN_STATUSES),
    v.description(
      "pending: to be attempted (again, after a backoff); succeeded; failed: a failure no retry would mend (no address, a refused URL, a secret that cannot sign), after one attempt; dead: every attempt failed; paused: not made, because the action paused (its creator no longer stands behind it): the attempt's error says why.",
    ),
  ),
  attempts: v.array(
    v.object({
      at: Timestamp,
      status: v.nullable(v.number()),
      error: v.nullable(v.string()),
      durationMs: v.number(),
    }),
  ),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

export const ListQuery = v.strictObject({ limit: Limit, cursor: Cursor });
