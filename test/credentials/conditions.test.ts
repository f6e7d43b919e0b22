import { describe, expect, it } from "vitest";
import { eventsOf } from "../db";
import { addMember, call, keyForRole, newWorkspace } from "../helpers";
import { listChanges, startChange } from "./helpers";

/**
 * An agent whose role (members:admin, and labels:read to outrank the built-in user role
 * of the members it changes) reaches only @acme.test members.
 */
async function acmeWorkspace() {
  const ws = await newWorkspace();
  const role = await call("POST", "/v1/roles", {
    key: ws.key,
    body: {
      key: "acme",
      name: "Acme admin",
      type: "team",
      scopes: ["members:admin", "labels:read"],
      condition: `member.email.endsWith("@acme.test")`,
    },
  });
  expect(role.status).toBe(201);
  return { ws, agent: (await keyForRole(ws, "acme")).key };
}

describe("credential changes under a role condition", () => {
  it("answers 404 for starting or listing changes of a member it cannot see, starting nothing", async () => {
    const { ws, agent } = await acmeWorkspace();
    const hidden = await addMember(ws, { email: "hid@other.test" });
    const before = await eventsOf(ws.id);
    const started = await startChange(ws, hidden.id, { kind: "email", value: "new@acme.test" }, agent);
    expect(started.status).toBe(404);
    expect(started.body.error.code).toBe("not_found");
    const listed = await listChanges(ws, hidden.id, agent);
    expect(listed.status).toBe(404);
    expect(await eventsOf(ws.id)).toEqual(before);
    expect((await listChanges(ws, hidden.id)).body.data).toEqual([]);
  });

  it("starts changes that keep the member in reach, refusing (403) one that would take them out", async () => {
    const { ws, agent } = await acmeWorkspace();
    const seen = await addMember(ws, { email: "ann@acme.test" });
    const ok = await startChange(ws, seen.id, { kind: "email", value: "ann.b@acme.test" }, agent);
    expect(ok.status).toBe(202);
    const out = await startChange(ws, seen.id, { kind: "email", value: "ann@other.test" }, agent);
    expect(out.status).toBe(403);
    expect(out.body.error.code).toBe("forbidden_by_condition");
    const changes = (await listChanges(ws, seen.id, agent)).body.data;
    expect(changes.map((c: { newValue: string; status: string }) => [c.newValue, c.status])).toEqual([
      ["ann.b@acme.test", "pending"],
    ]);
    // A phone change does not touch what the condition reads.
    expect((await startChange(ws, seen.id, { kind: "phone", value: "+14155550123" }, agent)).status).toBe(202);
  });
});
