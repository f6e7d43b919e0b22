import { describe, expect, it } from "vitest";
import { snapshot } from "../db";
import { addMember, call, newWorkspace, type Workspace } from "../helpers";

/** A workspace on `shard` with a member, a label and an invitation of its own. */
async function populated(shard: number, name: string) {
  const ws = await newWorkspace({ shard });
  const member = await addMember(ws, { name, email: `${name}@shard${shard}.test`, labels: [`only-${name}`] });
  const invitation = await call("POST", "/v1/invitations", { key: ws.key, body: { email: `guest@${name}.test` } });
  expect(invitation.status).toBe(201);
  return { ws, member, invitationId: invitation.body.id as string };
}

const ids = async (ws: Workspace, path: string) =>
  (await call("GET", path, { key: ws.key })).body.data.map(
    (item: { id?: string; slug?: string }) => item.id ?? item.slug,
  );

describe.each([
  [0, 1],
  [1, 0],
])("two workspaces, on shard %i and shard %i", (first, second) => {
  it("each sees only its own data, and another's ids answer 404 with nothing changed", async () => {
    const a = await populated(first, "alpha");
    const b = await populated(second, "bravo");
    expect((await call("GET", "/v1/workspace", { key: a.ws.key })).body.shard).toBe(first);
    expect((await call("GET", "/v1/workspace", { key: b.ws.key })).body.shard).toBe(second);

    for (const [self, other] of [
      [a, b],
      [b, a],
    ] as const) {
      expect(await ids(self.ws, "/v1/members")).toEqual(expect.arrayContaining([self.member.id, self.ws.ownerId]));
      expect(await ids(self.ws, "/v1/members")).not.toContain(other.member.id);
      expect(await ids(self.ws, "/v1/labels")).not.toContain(`only-${other.member.name}`);
      expect(await ids(self.ws, "/v1/invitations")).toEqual([self.invitationId]);

      const before = await snapshot(other.ws.id);
      const key = self.ws.key;
      for (const [method, path, body] of [
        ["GET", `/v1/members/${other.member.id}`],
        ["PATCH", `/v1/members/${other.member.id}`, { name: "Hijacked" }],
        ["POST", `/v1/members/${other.member.id}/archive`],
        ["GET", `/v1/invitations/${other.invitationId}`],
        ["POST", `/v1/invitations/${other.invitationId}/revoke`],
        ["DELETE", `/v1/labels/only-${other.member.name}`],
      ] as const) {
        const res = await call(method, path, { key, body });
        expect(res.status, `${method} ${path}`).toBe(404);
      }
      expect(await snapshot(other.ws.id)).toEqual(before);
    }
  });
});
