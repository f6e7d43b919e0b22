import type { ContentfulStatusCode } from "hono/utils/http-status";

type Entry = { status: ContentfulStatusCode; meaning: string };

/**
 * Every `error.code` the API answers (spec/api.md's error shape), with its one HTTP status
 * and what it means. `ApiError` takes only these codes, each with its status, so a new
 * code is added here first; OpenAPI's `Error` schema enumerates them. The codes are wire
 * strings clients branch on: never rename one. `meaning` is the answer's message where
 * the throw site gives none, and the code's line in the API reference.
 */
export const ERROR_CODES = {
  // 400
  invalid_json: { status: 400, meaning: "The body is not valid JSON." },
  invalid_cursor: { status: 400, meaning: "The cursor is not one this list gave out." },
  invalid_bookmark: {
    status: 400,
    meaning: "The x-d1-bookmark header is not a bookmark: send back the value an answer carried.",
  },
  malformed_token: { status: 400, meaning: "This is not a link token; copy the whole link." },
  websocket_required: { status: 400, meaning: "Open this URL as a WebSocket." },
  invalid_idempotency_key: { status: 400, meaning: "Idempotency-Key must be 1 to 255 characters." },
  idempotency_not_supported: {
    status: 400,
    meaning: "This route does not take Idempotency-Key (a public route, or a streamed upload): send it without one.",
  },
  // 401
  unauthorized: { status: 401, meaning: "Send a valid credential: Authorization: Bearer <api key>." },
  invalid_ticket: { status: 401, meaning: "The live ticket is unknown, used or expired." },
  // 403
  forbidden: { status: 403, meaning: "The credential lacks the scope or standing this needs." },
  forbidden_by_condition: {
    status: 403,
    meaning: "Your role's condition would not reach the member after this change, so it was not made.",
  },
  role_exceeds_caller: { status: 403, meaning: "The role's scopes exceed the caller's." },
  scope_exceeds_caller: { status: 403, meaning: "The scopes asked for exceed the caller's." },
  csrf_rejected: { status: 403, meaning: "Cookie-authenticated requests from a page of another site are refused." },
  invalid_signature: { status: 403, meaning: "The provider's signature is missing or wrong." },
  member_not_active: { status: 403, meaning: "This member cannot sign in." },
  turnstile_required: { status: 403, meaning: "Complete the challenge and send turnstileToken." },
  turnstile_failed: { status: 403, meaning: "The challenge was not passed; try again." },
  // 404
  not_found: { status: 404, meaning: "No such resource." },
  unknown_token: { status: 404, meaning: "The link is not valid." },
  // 409
  duplicate: { status: 409, meaning: "Another resource already has this unique value (`existingId` names it)." },
  conflict: { status: 409, meaning: "The resource changed meanwhile; look again and retry." },
  edit_conflict: { status: 409, meaning: "The member kept changing meanwhile; send the edit again." },
  slug_taken: { status: 409, meaning: "The slug is taken." },
  move_running: { status: 409, meaning: "A move of this workspace is running; wait for it to finish." },
  already_on_shard: { status: 409, meaning: "The workspace already lives on that shard." },
  identifier_conflict: { status: 409, meaning: "The email and phone belong to different members." },
  already_member: { status: 409, meaning: "This person is already a member." },
  already_invited: { status: 409, meaning: "This person has a pending invitation; resend it instead." },
  already_decided: { status: 409, meaning: "This join request was already approved or denied." },
  built_in_role: { status: 409, meaning: "A built-in role cannot be changed." },
  role_in_use: { status: 409, meaning: "Members hold this role: give them another role first." },
  action_paused: { status: 409, meaning: "The action is paused: resume it (PATCH `paused: false`) first." },
  not_replayable: { status: 409, meaning: "Only a webhook, email or SMS run can be delivered again." },
  label_deleting: { status: 409, meaning: "A label it names is being deleted: name it again once that has finished." },
  cannot_archive_self: { status: 409, meaning: "You cannot archive yourself." },
  cannot_change_own_role: { status: 409, meaning: "Ask another admin to change your role." },
  invalid_status: { status: 409, meaning: "The member's status does not allow this change." },
  invitation_used: { status: 409, meaning: "This invitation was already accepted." },
  invitation_revoked: { status: 409, meaning: "The invitee is no longer invited." },
  invitation_superseded: { status: 409, meaning: "A newer invitation link was sent; use the latest one." },
  link_used: { status: 409, meaning: "This sign-in link was already used; ask for a new one." },
  change_used: { status: 409, meaning: "This link was already used." },
  change_superseded: { status: 409, meaning: "A newer credential change was started; use its link." },
  member_archived: { status: 409, meaning: "This member is archived; unarchive them first." },
  member_not_changeable: { status: 409, meaning: "This member has no credentials to change." },
  no_contact: { status: 409, meaning: "This member has no email or phone to send the confirmation link to." },
  not_anonymous: { status: 409, meaning: "Only anonymous members can be resolved or expire." },
  not_merged: { status: 409, meaning: "Only a merged anonymous member can be restored." },
  same_member: { status: 409, meaning: "A member cannot be resolved into itself." },
  invalid_target: { status: 409, meaning: "Resolve into an active or invited member." },
  idempotency_in_progress: {
    status: 409,
    meaning: "A request with this Idempotency-Key is still running: retry once it has answered.",
  },
  // 410
  invitation_expired: { status: 410, meaning: "This invitation expired; ask for a new one." },
  link_expired: { status: 410, meaning: "This sign-in link expired; ask for a new one." },
  change_expired: { status: 410, meaning: "This confirmation link expired; start the change again." },
  event_expired: {
    status: 410,
    meaning: "The workspace no longer keeps this event (its eventRetentionDays): it cannot be delivered again.",
  },
  // 413, 415
  payload_too_large: { status: 413, meaning: "The body is larger than this route takes." },
  unsupported_media_type: { status: 415, meaning: "The body's content type is not one this route takes." },
  // 422
  validation_failed: { status: 422, meaning: "The request has invalid fields." },
  invalid_condition: { status: 422, meaning: "The CEL condition is not valid (`issues` has its position)." },
  invalid_csv: { status: 422, meaning: "The CSV cannot be read." },
  use_credential_change: { status: 422, meaning: "Change email or phone with a credential change." },
  idempotency_mismatch: {
    status: 422,
    meaning: "This Idempotency-Key was used with another request: use a new key for a new request.",
  },
  // 429
  rate_limited: { status: 429, meaning: "Too many requests; try again after Retry-After seconds." },
  too_many_imports: { status: 429, meaning: "Too many imports are running in the workspace; try again later." },
  // 5xx
  internal: { status: 500, meaning: "Something went wrong; the message has a request id to report." },
  not_configured: { status: 503, meaning: "The server lacks a setting this needs." },
  workspace_moved: {
    status: 503,
    meaning:
      "The workspace is moving to another database; nothing was changed. Send it again after Retry-After seconds.",
  },
} as const satisfies Record<string, Entry>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The HTTP status a code is always answered with. */
export type StatusOf<C extends ErrorCode> = (typeof ERROR_CODES)[C]["status"];

/** Every code, for OpenAPI's enum. */
export const ERROR_CODE_LIST = Object.keys(ERROR_CODES) as ErrorCode[];

export const statusOf = <C extends ErrorCode>(code: C): StatusOf<C> => ERROR_CODES[code].status;
