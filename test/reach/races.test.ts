import { describe, expect, it } from "vitest";
import { eventsOf } from "../db";
import { addMember, addRole, call, keyForRole, newWorkspace } from "../helpers";
import { range } from "../wait";

/** Hidden only with both labels: each label alone leaves a member in reach. */
const NOT_BOTH = `!("vip" in member.labels && "gold" in member.labels)`;

type Labeled = { type: string; data: { member: { id: string; labels: string[] }; labels: string[] } };

describe("a conditioned write racing a change that hides its member", () => {
  it("either lands with the member still in reach or writes nothing, never half", async () => {
    const ws = await newWorkspace();
    const role = await call("POST", "/v1/roles", {
      key: ws.key,
      body: { key: "desk", name: "Desk", type: "team", scopes: ["members:write"], condition: NOT_BOTH },
    });
    expect(role.status).toBe(201);
    const agent = (await keyForRole(ws, "desk")).key;
    const targets = await Promise.all(range(1, 8).map((i) => addMember(ws, { email: `t${i}@example.test` })));

    // The agent adds "gold" while the owner adds "vip": both alone are fine, together they hide.
    const outcomes = await Promise.all(
      targets.map(async (t) => {
        const [byAgent] = await Promise.all([
          call("POST", `/v1/members/${t.id}/labels`, { key: agent, body: { labels: ["gold", "gold-new"] } }),
          call("POST", `/v1/members/${t.id}/labels`, { key: ws.key, body: { labels: ["vip"] } }),
        ]);
        return { id: t.id, status: byAgent.status, code: byAgent.body?.error?.code };
      }),
    );

    const log = (await eventsOf(ws.id)) as unknown as Labeled[];
    const agentEvents = log.filter((e) => e.type === "member.labeled" && e.data.labels.includes("gold"));
    for (const outcome of outcomes) {
      const mine = agentEvents.filter((e) => e.data.member.id === outcome.id);
      const after = (await call("GET", `/v1/members/${outcome.id}`, { key: ws.key })).body;
      if (outcome.status === 200) {
        // It landed first, on a member with no vip yet: its own event shows the member in reach.
        expect(mine).toHaveLength(1);
        expect(mine[0]?.data.member.labels).not.toContain("vip");
        expect(after.labels).toEqual(["gold", "gold-new", "vip"]);
      } else {
        // The owner's vip came first: the agent's write was refused whole, label creation included.
        expect([403, 404]).toContain(outcome.status);
        expect(outcome.code).toBe(outcome.status === 403 ? "forbidden_by_condition" : "not_found");
        expect(mine).toEqual([]);
        expect(after.labels).toEqual(["vip"]);
      }
    }
    const labels = (await call("GET", "/v1/labels", { key: ws.key })).body.data.map((l: { slug: string }) => l.slug);
    expect(labels.includes("gold-new")).toBe(outcomes.some((o) => o.status === 200));
  });

  it("refuses a write on a member hidden after the route let it in, writing nothing", async () => {
    const ws = await newWorkspace();
    await addRole(ws, "desk", ["members:write"], "team", `!("vip" in member.labels)`);
    const agent = (await keyForRole(ws, "desk")).key;
    const targets = await Promise.all(range(1, 8).map((i) => addMember(ws, { email: `h${i}@example.test` })));
    const outcomes = await Promise.all(
      targets.map(async (t) => {
        const [rename] = await Promise.all([
          call("PATCH", `/v1/members/${t.id}`, { key: agent, body: { name: "Renamed", labels: ["plain"] } }),
          call("POST", `/v1/members/${t.id}/labels`, { key: ws.key, body: { labels: ["vip"] } }),
        ]);
        return { id: t.id, status: rename.status };
      }),
    );
    for (const outcome of outcomes) {
      const after = (await call("GET", `/v1/members/${outcome.id}`, { key: ws.key })).body;
      if (outcome.status === 200) {
        // The rename came first; the owner's vip then replaced nothing of it.
        expect(after).toMatchObject({ name: "Renamed", labels: ["plain", "vip"] });
      } else {
        // The member was hidden by the time the agent's batch ran: 404 as if absent, and no trace.
        expect(outcome.status).toBe(404);
        expect(after).toMatchObject({ name: "Someone", labels: ["vip"] });
      }
    }
    const renamed = (await eventsOf(ws.id)).filter((e) => e.type === "member.updated");
    expect(renamed).toHaveLength(outcomes.filter((o) => o.status === 200).length);
  });
});
