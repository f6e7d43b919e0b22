import { describe, expect, it } from "vitest";
import { snapshot } from "../db";
import { addMember, addRole, call, newWorkspace } from "../helpers";

/** A workspace with a member and a custom role to edit, and its rows before anything is sent. */
async function setup() {
  const ws = await newWorkspace();
  await addRole(ws, "custom", []);
  const member = await addMember(ws, { name: "Pat", email: "pat@x.test" });
  return { ws, member, before: await snapshot(ws.id) };
}

const raw = (key: string, text: string, contentType?: string) => ({
  key,
  rawBody: new TextEncoder().encode(text),
  headers: contentType === undefined ? undefined : { "Content-Type": contentType },
});

describe("request bodies", () => {
  it.each([
    "text/plain",
    "application/x-www-form-urlencoded",
    "application/json-seq",
    "application/json/extra",
    "application/json, text/plain",
    "application/jsonx",
    undefined,
  ])("refuses a valid edit sent as %s with 415 and changes nothing", async (contentType) => {
    const { ws, member, before } = await setup();
    for (const [path, body] of [
      [`/v1/members/${member.id}`, { name: "Renamed" }],
      ["/v1/roles/custom", { name: "Renamed" }],
      ["/v1/workspace", { name: "Renamed" }],
    ] as const) {
      const res = await call("PATCH", path, raw(ws.key, JSON.stringify(body), contentType));
      expect(res.status, path).toBe(415);
      expect(res.body.error.code).toBe("unsupported_media_type");
    }
    expect(await snapshot(ws.id)).toEqual(before);
  });

  it.each(["application/json; charset=utf-8", "APPLICATION/JSON", "application/merge-patch+json"])(
    "accepts JSON sent as %s",
    async (contentType) => {
      const { ws, member } = await setup();
      const res = await call("PATCH", `/v1/members/${member.id}`, raw(ws.key, '{"name":"Renamed"}', contentType));
      expect(res.status).toBe(200);
      expect(res.body.name).toBe("Renamed");
    },
  );

  it.each(["[]", "[1]", "null", '"text"', "42", "true"])(
    "refuses the JSON value %s where an object is expected with 422 and changes nothing",
    async (text) => {
      const { ws, member, before } = await setup();
      for (const path of [`/v1/members/${member.id}`, "/v1/roles/custom", "/v1/workspace"]) {
        const res = await call("PATCH", path, raw(ws.key, text, "application/json"));
        expect(res.status, path).toBe(422);
        expect(res.body.error.code).toBe("validation_failed");
      }
      expect(await snapshot(ws.id)).toEqual(before);
    },
  );

  it.each(["", "{", '{"name": "X",}', "{'name': 'X'}"])(
    "answers malformed JSON %j with 400 invalid_json",
    async (text) => {
      const { ws, before } = await setup();
      const res = await call("POST", "/v1/members", raw(ws.key, text, "application/json"));
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe("invalid_json");
      expect(await snapshot(ws.id)).toEqual(before);
    },
  );

  it("refuses a body over 1 MiB with 413, even a valid one padded with spaces", async () => {
    const { ws, before } = await setup();
    const body = `${JSON.stringify({ name: "Big", email: "big@x.test" })}${" ".repeat(1024 * 1024)}`;
    const res = await call("POST", "/v1/members", raw(ws.key, body, "application/json"));
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe("payload_too_large");
    expect(await snapshot(ws.id)).toEqual(before);
  });
});
