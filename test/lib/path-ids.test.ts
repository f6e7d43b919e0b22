import { expect, it } from "vitest";
import { addMember, call, newWorkspace } from "../helpers";

/** Every route that takes an id in its path, with the body it needs; `ID` stands for the id. */
const ROUTES: [method: string, path: string, body?: (id: string) => unknown][] = [
  ["GET", "/v1/actions/ID"],
  ["DELETE", "/v1/actions/ID"],
  ["GET", "/v1/actions/ID/deliveries"],
  ["DELETE", "/v1/api-keys/ID"],
  ["GET", "/v1/imports/ID"],
  ["GET", "/v1/imports/ID/errors.csv"],
  ["GET", "/v1/invitations/ID"],
  ["POST", "/v1/invitations/ID/resend"],
  ["POST", "/v1/invitations/ID/revoke"],
  ["POST", "/v1/join-requests/ID/approve"],
  ["POST", "/v1/join-requests/ID/deny"],
  ["POST", "/public/ID/join-requests", () => ({ name: "A", email: "a@example.test" })],
  ["DELETE", "/v1/labels/ID"],
  ["GET", "/v1/members/ID"],
  ["PATCH", "/v1/members/ID", () => ({ name: "X" })],
  ["POST", "/v1/members/ID/archive"],
  ["POST", "/v1/members/ID/unarchive"],
  ["POST", "/v1/members/ID/labels", () => ({ labels: ["a"] })],
  ["DELETE", "/v1/members/ID/labels/ID"],
  ["POST", "/v1/members/ID/expire"],
  ["GET", "/v1/members/ID/messages"],
  ["GET", "/v1/members/ID/resolution"],
  ["POST", "/v1/members/ID/resolve", (id) => ({ targetId: id })],
  ["GET", "/v1/members/ID/resolve-preview?targetId=ID"],
  ["POST", "/v1/members/ID/resolve/undo"],
  ["POST", "/v1/members/ID/credential-changes", () => ({ kind: "email", value: "n@example.test" })],
  ["GET", "/v1/members/ID/credential-changes"],
  ["PATCH", "/v1/roles/ID", () => ({ name: "X" })],
  ["DELETE", "/v1/roles/ID"],
  ["POST", "/webhooks/twilio/ID/sms"],
  ["POST", "/webhooks/twilio/ID/voice"],
  ["GET", "/webhooks/twilio/ID/check"],
];

/** Ids no route issues, as they appear in a URL: very long, bad or odd percent escapes, dots, prototype names. */
const IDS = [
  "x".repeat(8000),
  "%",
  "%ZZ",
  "%C0%AF",
  "%F0%9F%98%80",
  "%00",
  "..",
  "%2F",
  "'",
  "mem_%0A",
  "%EF%BF%BF",
  "__proto__",
  "constructor",
];

/** The id as a body would carry it: decoded where it decodes. */
function decoded(id: string) {
  try {
    return decodeURIComponent(id);
  } catch {
    return id;
  }
}

it("answers ids that name nothing, however odd, with a 4xx in the contract's error shape", async () => {
  const ws = await newWorkspace();
  await addMember(ws, { email: "a@example.test" });
  const answers: string[] = [];
  for (const [method, path, body] of ROUTES) {
    for (const id of IDS) {
      const url = path.replaceAll("ID", id);
      const res = await call(method, url, { key: ws.key, body: body?.(decoded(id)) });
      const shaped = typeof res.body?.error?.code === "string";
      if (res.status < 400 || res.status >= 500 || !shaped) {
        answers.push(`${method} ${url.slice(0, 60)} -> ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
      }
    }
  }
  expect(answers).toEqual([]);
});
