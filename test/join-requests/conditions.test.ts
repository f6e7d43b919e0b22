import { describe, expect, it } from "vitest";
import { eventsOf } from "../db";
import { call, keyForRole, newWorkspace, type Workspace, walkPages } from "../helpers";

/** A distinct client address per request, so per-IP counters never mix between tests. */
const newIp = () => {
  const n = Number.parseInt(crypto.randomUUID().slice(0, 6), 16);
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
};

const submit = (ws: Workspace, name: string, email: string) =>
  call("POST", `/public/${ws.slug}/join-requests`, { body: { name, email }, headers: { "CF-Connecting-IP": newIp() } });

const SCOPES = ["members:write", "labels:read", "invitations:write", "join_requests:write"];

/**
 * A workspace taking join requests, with an agent whose role reaches only members the
 * condition holds for. A request is judged as the member approving it would create.
 */
async function reviewWorkspace(condition: string) {
  const ws = await newWorkspace({ allowJoinRequests: true });
  const role = await call("POST", "/v1/roles", {
    key: ws.key,
    body: { key: "desk", name: "Desk", type: "team", scopes: SCOPES, condition },
  });
  expect(role.status).toBe(201);
  return { ws, agent: (await keyForRole(ws, "desk")).key };
}

const requestId = async (ws: Workspace, email: string) =>
  (await walkPages(ws.key, "/v1/join-requests?limit=100")).find((r) => r.email === email).id;

describe("join requests under a role condition", () => {
  it("lists only the requests of people it would reach, filtered in the query: full pages", async () => {
    const { ws, agent } = await reviewWorkspace(`member.email.endsWith("@acme.test")`);
    for (let i = 0; i < 8; i++) {
      const email = i % 3 === 0 ? `s${i}@acme.test` : `h${i}@other.test`;
      expect((await submit(ws, `Person ${i}`, email)).status).toBe(202);
    }
    const first = await call("GET", "/v1/join-requests?limit=2", { key: agent });
    expect(first.body.data).toHaveLength(2);
    expect(first.body.nextCursor).not.toBeNull();
    const walked = await walkPages(agent, "/v1/join-requests?status=pending&limit=2");
    expect(walked.map((r) => r.email)).toEqual(["s6@acme.test", "s3@acme.test", "s0@acme.test"]);
    expect(await walkPages(ws.key, "/v1/join-requests?limit=100")).toHaveLength(8);
  });

  it("answers 404 for approving or denying a request it cannot see, changing nothing", async () => {
    const { ws, agent } = await reviewWorkspace(`member.email.endsWith("@acme.test")`);
    await submit(ws, "Hidden Hal", "hal@other.test");
    const id = await requestId(ws, "hal@other.test");
    const before = await eventsOf(ws.id);
    for (const path of ["approve", "deny"]) {
      const res = await call("POST", `/v1/join-requests/${id}/${path}`, { key: agent });
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe("not_found");
    }
    expect(await eventsOf(ws.id)).toEqual(before);

    await submit(ws, "Seen Sue", "sue@acme.test");
    const seen = await call("POST", `/v1/join-requests/${await requestId(ws, "sue@acme.test")}/approve`, {
      key: agent,
      body: { role: "desk" },
    });
    expect(seen.status).toBe(200);
    expect(seen.body.invitation).toMatchObject({ email: "sue@acme.test", role: "desk", status: "pending" });
  });

  it("judges a request by its name and the default role, as the member it would become", async () => {
    const { ws, agent } = await reviewWorkspace(`!member.name.startsWith("VIP") && member.role == "user"`);
    await submit(ws, "VIP Val", "val@example.test");
    await submit(ws, "Plain Pat", "pat@example.test");
    const listed = await walkPages(agent, "/v1/join-requests?limit=10");
    expect(listed.map((r) => r.name)).toEqual(["Plain Pat"]);
  });

  it("refuses an approval whose invitee, with the role chosen, would be out of its reach", async () => {
    // "vault" carries the desk's own condition, so the desk may assign it (worker/roles),
    // but a member holding it is out of the desk's reach.
    const condition = `member.role != "vault"`;
    const { ws, agent } = await reviewWorkspace(condition);
    const vault = await call("POST", "/v1/roles", {
      key: ws.key,
      body: { key: "vault", name: "Vault", type: "team", scopes: ["members:write"], condition },
    });
    expect(vault.status).toBe(201);
    await submit(ws, "Rae", "rae@example.test");
    const id = await requestId(ws, "rae@example.test");
    const before = await eventsOf(ws.id);
    const refused = await call("POST", `/v1/join-requests/${id}/approve`, { key: agent, body: { role: "vault" } });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe("forbidden_by_condition");
    expect(await eventsOf(ws.id)).toEqual(before);
    const still = await call("GET", "/v1/join-requests?status=pending", { key: ws.key });
    expect(still.body.data.map((r: { id: string }) => r.id)).toEqual([id]);
    expect((await call("GET", "/v1/members?status=invited", { key: ws.key })).body.data).toEqual([]);
    const approved = await call("POST", `/v1/join-requests/${id}/approve`, { key: agent, body: { role: "desk" } });
    expect(approved.status).toBe(200);
  });
});
