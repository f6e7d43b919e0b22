/**
 * Who caused an event: the wire shape every event carries (`actor`), in the live stream,
 * GET /v1/events and webhook payloads. Only valibot here: the admin view bundles it
 * (through ./registry.ts). Never a secret: a key by its id and name, never its token.
 */
import * as v from "valibot";

export const ACTOR_TYPES = ["member", "platform", "public", "provider", "import", "action", "system"] as const;
export type ActorType = (typeof ACTOR_TYPES)[number];

const Named = v.object({ id: v.string(), name: v.optional(v.string()) });

export const Actor = v.pipe(
  v.object({
    type: v.picklist(ACTOR_TYPES),
    /** The member (`member`), the import (`import`), the action (`action`), the member a visitor is or asks to be (`public`). */
    id: v.optional(v.string()),
    /** The member's or the action's name; the provider's (`twilio`). */
    name: v.optional(v.string()),
    /** `member` through an API key: which key (never its token). Absent for a session. */
    key: v.optional(Named),
    /** `import`: the member who started it. */
    by: v.optional(Named),
  }),
  v.description(
    "Who caused the event: `member` (a session, or the API key named by `key`), `platform` (the platform token), " +
      "`public` (a visitor: a join request, an invitation's acceptance, a confirmation link), `provider` (an inbound " +
      "SMS or call), `import` (`id` the import, `by` its importer), `action` (`id` the action) or `system` (expiry, " +
      "Cron, upgrades, and every event logged before events recorded their actor).",
  ),
);
export type Actor = v.InferOutput<typeof Actor>;

export const SYSTEM: Actor = { type: "system" };
