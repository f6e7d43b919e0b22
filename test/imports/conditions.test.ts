import { describe, expect, it } from "vitest";
import { eventsOf } from "../db";
import { addMember, addRole, call, keyForRole, newWorkspace } from "../helpers";
import { range } from "../wait";
import { csv, postCsv, waitForImport } from "./helpers";

type Updated = { type: string; data: { member: { id: string; labels: string[] }; importId?: string } };

describe("a conditioned import racing changes that hide its members", () => {
  it("changes only members still in reach when its batch runs; the others are row errors", async () => {
    const ws = await newWorkspace();
    await addRole(ws, "desk", ["members:write"], "team", `!("vip" in member.labels)`);
    const agent = (await keyForRole(ws, "desk")).key;
    const targets = await Promise.all(range(1, 12).map((i) => addMember(ws, { email: `t${i}@example.test` })));

    const upload = postCsv(ws, csv("email,name", ...targets.map((t, i) => `${t.email},Renamed ${i + 1}`)), {
      key: agent,
      role: "desk",
    });
    // The owner labels every other member "vip" while the import runs.
    await Promise.all(
      targets
        .filter((_, i) => i % 2 === 0)
        .map((t) => call("POST", `/v1/members/${t.id}/labels`, { key: ws.key, body: { labels: ["vip"] } })),
    );
    const started = await upload;
    expect(started.status).toBe(202);
    const result = await waitForImport(ws, started.body.id);
    expect(result.status).toBe("completed");
    expect(result.updated + result.failed).toBe(targets.length);
    for (const error of result.errors) expect(error.message).toContain("outside your reach");

    const imported = ((await eventsOf(ws.id)) as unknown as Updated[]).filter(
      (e) => e.type === "member.updated" && e.data.importId === started.body.id,
    );
    // Every change the import made was on a member in reach as its batch found and left it.
    for (const event of imported) expect(event.data.member.labels).not.toContain("vip");
    expect(imported).toHaveLength(result.updated);
    for (const target of targets) {
      const after = (await call("GET", `/v1/members/${target.id}`, { key: ws.key })).body;
      const changed = imported.some((e) => e.data.member.id === target.id);
      expect(after.name.startsWith("Renamed")).toBe(changed);
    }
  });
});
