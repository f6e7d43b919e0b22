import { describe, expect, it } from "vitest";
import { listChanges, startChange } from "../credentials/helpers";
import { snapshot } from "../db";
import { addMember, addRole, call, keyForRole, newWorkspace, type Workspace } from "../helpers";
import { csv, importCsv } from "../imports/helpers";
import { range } from "../wait";

/** An agent (members:write) whose role has `condition`, their own record set up by the owner with `own`. */
async function agentUnder(condition: string, own: Record<string, unknown>) {
  const ws = await newWorkspace();
  await addRole(ws, "desk", ["members:write", "labels:read"], "team", condition);
  const { key, member } = await keyForRole(ws, "desk");
  const patched = await call("PATCH", `/v1/members/${member.id}`, { key: ws.key, body: own });
  expect(patched.status).toBe(200);
  return { ws, key, agent: patched.body };
}

const refusedByCondition = (res: { status: number; body: { error?: { code: string } } }) => {
  expect(res.status).toBe(403);
  expect(res.body.error?.code).toBe("forbidden_by_condition");
};

const read = (ws: Workspace, id: string, key = ws.key) => call("GET", `/v1/members/${id}`, { key });

describe("a conditioned caller may not change, on their own record, a field their condition reads on actor", () => {
  it("cannot clear or shorten their own external ID to reach everyone, changing nothing", async () => {
    const { ws, key, agent } = await agentUnder(`member.external_id.startsWith(actor.external_id)`, {
      externalId: "acme-",
    });
    const colleague = await addMember(ws, { email: "c@example.test", externalId: "acme-1" });
    const stranger = await addMember(ws, { email: "s@example.test", externalId: "other-1" });
    expect((await read(ws, stranger.id, key)).status).toBe(404);

    const before = await snapshot(ws.id);
    for (const externalId of [null, "a", "acme"]) {
      const res = await call("PATCH", `/v1/members/${agent.id}`, { key, body: { externalId } });
      refusedByCondition(res);
      expect(res.body.error.message).toContain("actor.external_id");
    }
    expect(await snapshot(ws.id)).toEqual(before);
    expect((await read(ws, stranger.id, key)).status).toBe(404);

    // Fields the condition does not read, and other members' fields, change as before.
    const renamed = await call("PATCH", `/v1/members/${agent.id}`, { key, body: { name: "Agent Renamed" } });
    expect(renamed.status).toBe(200);
    const moved = await call("PATCH", `/v1/members/${colleague.id}`, { key, body: { externalId: "acme-2" } });
    expect(moved.status).toBe(200);
    // The owner, unconditioned, may still change the agent's external ID.
    expect((await call("PATCH", `/v1/members/${agent.id}`, { key: ws.key, body: { externalId: "o" } })).status).toBe(
      200,
    );
    expect((await read(ws, stranger.id, key)).status).toBe(200);
  });

  it("cannot start a change of their own email when the condition reads it, starting nothing", async () => {
    const boss = `actor.email == "boss@example.test" || !("vip" in member.labels)`;
    const { ws, key, agent } = await agentUnder(boss, {});
    const vip = await addMember(ws, { email: "vip@example.test", labels: ["vip"] });
    const other = await addMember(ws, { email: "other@example.test" });

    const refused = await startChange(ws, agent.id, { kind: "email", value: "boss@example.test" }, key);
    refusedByCondition(refused);
    expect(refused.body.error.message).toContain("actor.email");
    expect((await listChanges(ws, agent.id)).body.data).toEqual([]);
    expect((await read(ws, vip.id, key)).status).toBe(404);

    // Their phone (not read) and another member's email change as before.
    expect((await startChange(ws, agent.id, { kind: "phone", value: "+14155550123" }, key)).status).toBe(202);
    expect((await startChange(ws, other.id, { kind: "email", value: "boss@example.test" }, key)).status).toBe(202);
  });

  it("cannot rename themselves by an import row when the condition reads their name: a row error", async () => {
    const { ws, key, agent } = await agentUnder(`member.last_name == actor.last_name`, { name: "Ann Desk" });
    const dan = await addMember(ws, { name: "Dan Desk", email: "dan@example.test" });
    const sue = await addMember(ws, { name: "Sue Smith", email: "sue@example.test" });

    const rows = csv("email,name", `${agent.email},Ann Smith`, "dan@example.test,Daniel Desk");
    const result = await importCsv(ws, rows, { key, role: "desk" });
    expect(result).toMatchObject({ status: "completed", updated: 1, failed: 1 });
    expect(result.errors).toMatchObject([{ row: 2, column: "name", value: "Ann Smith" }]);
    expect(result.errors[0].message).toContain("actor.last_name");
    expect((await read(ws, agent.id)).body.name).toBe("Ann Desk");
    expect((await read(ws, dan.id)).body.name).toBe("Daniel Desk");
    expect((await read(ws, sue.id, key)).status).toBe(404);

    // A first name change keeps the last name, which is all the condition reads.
    const kept = await importCsv(ws, csv("email,name", `${agent.email},Anne Desk`), { key, role: "desk" });
    expect(kept).toMatchObject({ status: "completed", updated: 1, failed: 0 });
  });
});

describe("an edit of one's own record racing an admin's change of a field the condition reads", () => {
  it("never undoes the admin's change: it lands first, or is judged again on the new value", async () => {
    const ws = await newWorkspace();
    const condition = `member.external_id.startsWith(actor.external_id)`;
    await addRole(ws, "desk", ["members:write"], "team", condition);
    await addRole(ws, "desk-b", ["members:write"], "team", condition);
    for (const _ of range(1, 8)) {
      const { key, member } = await keyForRole(ws, "desk");
      const own = `acme-${member.id}`;
      await call("PATCH", `/v1/members/${member.id}`, { key: ws.key, body: { externalId: own } });
      // The owner narrows the agent's external ID (moving them to a like role, which makes
      // that edit read a little longer) while the agent resends the one they hold: no change,
      // as the agent's edit reads it, but a change back once the owner's has landed.
      const [byOwner, byAgent] = await Promise.all([
        call("PATCH", `/v1/members/${member.id}`, { key: ws.key, body: { role: "desk-b", externalId: `${own}-team` } }),
        call("PATCH", `/v1/members/${member.id}`, { key, body: { name: "Busy", externalId: own } }),
      ]);
      expect(byOwner.status).toBe(200);
      expect([200, 403, 409]).toContain(byAgent.status);
      if (byAgent.status === 403) expect(byAgent.body.error.code).toBe("forbidden_by_condition");
      expect((await read(ws, member.id)).body.externalId).toBe(`${own}-team`);
    }
  });
});
