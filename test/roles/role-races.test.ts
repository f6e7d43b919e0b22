import { describe, expect, it } from "vitest";
import { addRole, call, newWorkspace } from "../helpers";

describe("roles changing while members are written", () => {
  it("gives members created while their role's type changes the role's final type", async () => {
    const ws = await newWorkspace();
    await addRole(ws, "shifting", [], "team");
    const creates = Array.from({ length: 20 }, (_, i) =>
      call("POST", "/v1/members", { key: ws.key, body: { name: `M${i}`, email: `m${i}@x.test`, role: "shifting" } }),
    );
    const [flip] = await Promise.all([
      call("PATCH", "/v1/roles/shifting", { key: ws.key, body: { type: "customer" } }),
      ...creates,
    ]);
    expect(flip?.status).toBe(200);
    const members = await call("GET", "/v1/members?role=shifting&limit=100", { key: ws.key });
    expect(members.body.data).toHaveLength(20);
    expect(members.body.data.map((m: { type: string }) => m.type)).toEqual(Array(20).fill("customer"));
    const teams = await call("GET", "/v1/members?type=team&limit=100", { key: ws.key });
    expect(teams.body.data.map((m: { id: string }) => m.id)).toEqual([ws.ownerId]);
  });

  it("never leaves a member holding a role deleted at the same time", async () => {
    const ws = await newWorkspace();
    for (let round = 0; round < 5; round++) {
      const role = `doomed-${round}`;
      await addRole(ws, role, []);
      const [deleted, created] = await Promise.all([
        call("DELETE", `/v1/roles/${role}`, { key: ws.key }),
        call("POST", "/v1/members", { key: ws.key, body: { name: "M", email: `r${round}@x.test`, role } }),
      ]);
      const roles = (await call("GET", "/v1/roles", { key: ws.key })).body.data.map((r: { key: string }) => r.key);
      if (created?.status === 201) {
        expect(deleted?.status).toBe(409);
        expect(roles).toContain(role);
      } else {
        expect(deleted?.status).toBe(204);
        expect(created?.status).toBe(422);
        expect(roles).not.toContain(role);
      }
      const holders = await call("GET", `/v1/members?role=${role}`, { key: ws.key });
      expect(holders.body.data.length > 0).toBe(roles.includes(role) && created?.status === 201);
    }
  });
});
