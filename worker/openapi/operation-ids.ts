/**
 * Where the rule below reads badly: a route whose last word is not a collection or a
 * verb on the thing before it, or a public route named for what a person does.
 */
const OVERRIDES: Record<string, string> = {
  "get /v1/platform/upgrades": "getUpgrade",
  "post /v1/platform/upgrades": "runUpgrade",
  "get /v1/platform/shards": "listShards",
  "post /v1/platform/workspaces/{id}/move": "moveWorkspace",
  "get /v1/platform/moves/{id}": "getMove",
  "post /v1/members/{id}/labels": "addMemberLabels",
  "delete /v1/members/{id}/labels/{slug}": "removeMemberLabel",
  "get /v1/members/{id}/resolve-preview": "previewMemberResolve",
  "post /v1/members/{id}/credential-changes": "startCredentialChange",
  "delete /v1/api-keys/{id}": "revokeApiKey",
  "get /v1/settings/sms": "getSmsSettings",
  "put /v1/settings/sms": "putSmsSettings",
  "post /webhooks/twilio/{workspaceId}/sms": "receiveTwilioSms",
  "post /webhooks/twilio/{workspaceId}/voice": "receiveTwilioVoice",
  "post /webhooks/twilio/{workspaceId}/check": "checkTwilioSignature",
  "post /public/{slug}/join-requests": "requestToJoin",
  "post /v1/auth/login": "sendSignInLink",
  "post /v1/auth/verify": "signIn",
  "post /v1/auth/logout": "signOut",
  "get /v1/outbox": "listOutboxMessages",
  "get /v1/live": "openLiveStream",
};

const pascal = (word: string) =>
  word
    .split(/[-_.]/)
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join("");
const singular = (word: string) => word.replace(/ies$/, "y").replace(/s$/, "");
const isCollection = (word: string) => word.endsWith("s");

/**
 * An operation's id, from its method and path: `listMembers`, `createMember`, `getMember`,
 * `patchMember`, `deleteLabel`, `archiveMember` (a verb after an item), `listMemberMessages`
 * (a collection under an item), `acceptInvitation` (a verb after a collection).
 */
export function operationId(method: string, path: string): string {
  const override = OVERRIDES[`${method} ${path}`];
  if (override) return override;
  const segments = path.split("/").filter((segment) => segment && segment !== "v1");
  const last = segments.at(-1) ?? "";
  const words = segments.filter((segment) => !segment.startsWith("{"));
  const owners = words.slice(0, -1).map((word) => pascal(singular(word)));
  const name = words.at(-1) ?? "";
  if (last.startsWith("{")) return `${method}${owners.join("")}${pascal(singular(name))}`;
  if (method === "get") {
    return isCollection(name) ? `list${owners.join("")}${pascal(name)}` : `get${owners.join("")}${pascal(name)}`;
  }
  if (method === "post" && isCollection(name)) return `create${owners.join("")}${pascal(singular(name))}`;
  if (method === "post") return `${name}${owners.join("")}`;
  return `${method}${owners.join("")}${pascal(name)}`;
}
