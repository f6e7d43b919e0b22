import { describe, expect, it } from "vitest";
import { addMember, addRole, call, keyForRole, newWorkspace } from "../helpers";
import { requestSignInLink } from "../links";

describe("the outbox under a role condition", () => {
  it("shows a conditioned admin only the messages to members their condition reaches", async () => {
    const ws = await newWorkspace();
    await addRole(ws, "desk", ["members:read", "workspace:admin"], "team", `!("vip" in member.labels)`);
    const agent = (await keyForRole(ws, "desk")).key;
    const plain = await addMember(ws, { email: "plain@example.test" });
    const vip = await addMember(ws, { email: "vip@example.test", labels: ["vip"] });
    for (const member of [plain, vip]) {
      const login = await requestSignInLink(ws, member.email);
      expect(login.status).toBe(202);
    }

    const all = (await call("GET", "/v1/outbox", { key: ws.key })).body.data.map((m: { to: string }) => m.to);
    expect(all).toEqual(expect.arrayContaining([plain.email, vip.email]));
    const seen = await call("GET", "/v1/outbox", { key: agent });
    expect(seen.status).toBe(200);
    expect(seen.body.data.map((m: { to: string }) => m.to)).toEqual([plain.email]);
    const asked = await call("GET", `/v1/outbox?to=${encodeURIComponent(vip.email)}`, { key: agent });
    expect(asked.body.data).toEqual([]);
  });
});
