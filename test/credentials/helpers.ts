import { call, type Workspace } from "../helpers";
import { latestToken } from "../links";

/**
 * Helpers for credential changes: start one through the API, read its link's token from
 * the outbox (where the member's current contact received it), and confirm it.
 */

export type ChangeBody = { kind: string; value: unknown };

export const startChange = (ws: Workspace, memberId: string, body: ChangeBody, key = ws.key) =>
  call("POST", `/v1/members/${memberId}/credential-changes`, { key, body });

export const confirmChange = (token: string) => call("POST", "/v1/credential-changes/confirm", { body: { token } });

/** Starts a change (expecting 202) and returns its answer and the token sent to `contact`. */
export async function startedChange(ws: Workspace, memberId: string, body: ChangeBody, contact: string) {
  const res = await startChange(ws, memberId, body);
  if (res.status !== 202) throw new Error(`start failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { change: res.body, token: await latestToken(ws, contact) };
}

export const listChanges = (ws: Workspace, memberId: string, key = ws.key) =>
  call("GET", `/v1/members/${memberId}/credential-changes`, { key });
