import { describe, expect, it } from "vitest";
import { addRole, call, keyForRole, newWorkspace, type Workspace } from "../helpers";
import { createWelcomeEmail } from "./helpers";

/** A role holding every automations scope, limited to members without "vip". */
async function conditionedAutomator(ws: Workspace) {
  await addRole(ws, "automator", ["members:read", "automations:admin"], "team", `!("vip" in member.labels)`);
  return (await keyForRole(ws, "automator")).key;
}

describe("actions under a role condition", () => {
  it("a conditioned caller may not create an action, which would run on members beyond their condition", async () => {
    const ws = await newWorkspace();
    const key = await conditionedAutomator(ws);
    const res = await call("POST", "/v1/actions", {
      key,
      body: { name: "Tag all", trigger: "member.created", action: { type: "label", add: ["tagged"] } },
    });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe("forbidden_by_condition");
    expect((await call("GET", "/v1/actions", { key: ws.key })).body.data).toEqual([]);
  });

  it("a conditioned caller may not delete an action nor read its deliveries, but may read its definition", async () => {
    const ws = await newWorkspace();
    const key = await conditionedAutomator(ws);
    const action = await createWelcomeEmail(ws);
    const deleted = await call("DELETE", `/v1/actions/${action.id}`, { key });
    expect(deleted.status).toBe(403);
    expect(deleted.body.error.code).toBe("forbidden_by_condition");
    const deliveries = await call("GET", `/v1/actions/${action.id}/deliveries`, { key });
    expect(deliveries.status).toBe(403);
    expect(deliveries.body.error.code).toBe("forbidden_by_condition");
    expect((await call("GET", `/v1/actions/${action.id}`, { key })).status).toBe(200);
    expect((await call("GET", `/v1/actions/${action.id}`, { key: ws.key })).status).toBe(200);
  });
});
