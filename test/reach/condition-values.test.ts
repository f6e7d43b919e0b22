import { describe, expect, it } from "vitest";
import { shardDb, snapshot } from "../db";

import { addMember, addRole, call, keyForRole, newWorkspace, type Workspace } from "../helpers";
import { csv, importCsv } from "../imports/helpers";
import { requestSignInLink } from "../links";
import { openLive } from "../live/sockets";
import { configureSms, newNumber, postInbound, smsParams } from "../provider/twilio";

/**
 * D1 binds at most 100 values per statement, and a role condition goes into the queries
 * of lists and writes, some twice. These conditions reach the same members (anonymous
 * and merged ones, and m0@in.test ... m49@in.test) through many constants.
 */
const ANONYMOUS = `member.status in ["anonymous", "merged"]`;
const IN_REACH = Array.from({ length: 50 }, (_, i) => `m${i}@in.test`);
const comparisons = (count: number) => Array.from({ length: count }, (_, i) => `l == "v${i}"`).join(" || ");

const CONDITIONS = [
  ["a list of 50 addresses", `${ANONYMOUS} || member.email in [${IN_REACH.map((a) => `"${a}"`).join(", ")}]`],
  // 1 + 1 + 38 values: the most a condition may bind.
  ["40 constants", `${ANONYMOUS} || member.email.endsWith("@in.test") || member.labels.exists(l, ${comparisons(38)})`],
] as const;

const DESK_SCOPES = ["members:admin", "labels:admin", "workspace:admin"];

/** A workspace with a "desk" role under `condition`, its agent, and three members in reach, labelled. */
async function deskWorkspace(condition: string) {
  const ws = await newWorkspace();
  await addRole(ws, "desk", DESK_SCOPES, "team", condition);
  const agent = (await keyForRole(ws, "desk")).key;
  const reached = [
    await addMember(ws, { name: "Mia Zero", email: IN_REACH[0], labels: ["team"] }),
    await addMember(ws, { name: "Max One", email: IN_REACH[1], labels: ["team", "vip"] }),
    await addMember(ws, { name: "Moe Two", email: IN_REACH[2], labels: ["team", "vip"] }),
  ];
  const outside = await addMember(ws, { name: "Oscar Out", email: "out@elsewhere.test", labels: ["vip"] });
  return { ws, agent, reached, outside };
}

const ids = (members: { id: string }[]) => members.map((m) => m.id).sort();

describe.each(CONDITIONS)("a role whose condition has %s", (_, condition) => {
  it("lists, searches and filters by labels only the members it reaches", async () => {
    const { agent, reached } = await deskWorkspace(condition);
    const list = async (query: string) => {
      const res = await call("GET", `/v1/members${query}`, { key: agent });
      expect(res.status).toBe(200);
      return ids(res.body.data);
    };
    expect(await list("")).toEqual(ids(reached));
    expect(await list("?label=team")).toEqual(ids(reached));
    expect(await list("?label=vip")).toEqual(ids(reached.slice(1)));
    expect(await list("?label=vip&label=team")).toEqual(ids(reached.slice(1)));
    const { type, role } = reached[1];
    expect(await list(`?label=vip&label=team&type=${type}&role=${role}`)).toEqual(ids(reached.slice(1)));
    expect(await list("?q=m")).toEqual(ids(reached));
    expect(await list("?q=m&label=vip")).toEqual(ids(reached.slice(1)));
  });

  it("resolves an anonymous member into a member it reaches", async () => {
    const { ws, agent, reached } = await deskWorkspace(condition);
    await configureSms(ws);
    expect((await postInbound(ws.id, "sms", smsParams(newNumber(), "hello"))).status).toBe(200);
    const [anonymous] = (await call("GET", "/v1/members?status=anonymous", { key: agent })).body.data;
    const resolved = await call("POST", `/v1/members/${anonymous.id}/resolve`, {
      key: agent,
      body: { targetId: reached[0].id },
    });
    expect(resolved.status).toBe(200);
    expect(resolved.body).toMatchObject({ member: { id: reached[0].id }, moved: 1 });
  });

  it("imports rows for members it reaches, and reports the others as row errors", async () => {
    const { ws, agent, outside } = await deskWorkspace(condition);
    const result = await importCsv(
      ws,
      csv(
        "email,name,labels",
        `${IN_REACH[0]},Mia Renamed,team`,
        `${IN_REACH[9]},Nia Nine,team`,
        `${outside.email},Oscar Renamed,`,
      ),
      { key: agent, role: "desk" },
    );
    expect(result).toMatchObject({ status: "completed", created: 1, updated: 1, failed: 1 });
    expect(result.errors).toMatchObject([{ row: 4, column: "email" }]);
  });

  it("deletes a label every holder of which it reaches", async () => {
    const { ws, agent } = await deskWorkspace(condition);
    expect((await call("DELETE", "/v1/labels/team", { key: agent })).status).toBe(204);
    expect((await call("DELETE", "/v1/labels/vip", { key: agent })).status).toBe(403);
    const labels = await call("GET", "/v1/labels", { key: ws.key });
    expect(labels.body.data.map((l: { slug: string }) => l.slug)).toEqual(["vip"]);
  });

  it("shows the outbox's messages to members it reaches", async () => {
    const { ws, agent, reached, outside } = await deskWorkspace(condition);
    for (const member of [reached[0], outside]) {
      const login = await requestSignInLink(ws, member.email);
      expect(login.status).toBe(202);
    }
    const seen = await call("GET", "/v1/outbox", { key: agent });
    expect(seen.status).toBe(200);
    expect(seen.body.data.map((m: { to: string }) => m.to)).toEqual([reached[0].email]);
  });
});

describe("a condition with more than 40 constants", () => {
  const TOO_MANY = `member.labels.exists(l, ${comparisons(41)})`;

  async function expectRefused(ws: Workspace, res: Awaited<ReturnType<typeof call>>, before: unknown) {
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe("invalid_condition");
    expect(res.body.error.issues[0]).toMatchObject({ path: "condition" });
    expect(res.body.error.message).toContain("Too many constants");
    expect(await snapshot(ws.id)).toEqual(before);
  }

  it("is refused when a role is created, saving nothing", async () => {
    const ws = await newWorkspace();
    const before = await snapshot(ws.id);
    const res = await call("POST", "/v1/roles", {
      key: ws.key,
      body: { key: "desk", name: "Desk", type: "team", scopes: ["members:read"], condition: TOO_MANY },
    });
    await expectRefused(ws, res, before);
  });

  it("is refused when a role is edited, changing nothing", async () => {
    const ws = await newWorkspace();
    await addRole(ws, "desk", ["members:read"], "team", `member.labels.exists(l, ${comparisons(40)})`);
    const before = await snapshot(ws.id);
    const res = await call("PATCH", "/v1/roles/desk", { key: ws.key, body: { condition: TOO_MANY } });
    await expectRefused(ws, res, before);
  });
});

describe("a condition saved before the limit, with more than 40 constants", () => {
  // Written straight into D1, as a role saved before MAX_CONDITION_VALUES existed would be.
  // 47 values (as many as compile within the AST bound): a merge's claim would bind 15 + 2 × 47, past D1's 100.
  const SAVED = `${ANONYMOUS} || member.labels.exists(l, ${comparisons(46)})`;

  it("reaches nobody, as a condition that no longer compiles, rather than failing its queries", async () => {
    const { ws, agent } = await deskWorkspace(ANONYMOUS);
    const target = await addMember(ws, { email: "target@in.test", labels: ["v0"] });
    await (await shardDb(ws.id))
      .prepare("update roles set condition = ? where workspace_id = ? and key = 'desk'")
      .bind(SAVED, ws.id)
      .run();
    await configureSms(ws);
    expect((await postInbound(ws.id, "sms", smsParams(newNumber(), "hello"))).status).toBe(200);
    const [anonymous] = (await call("GET", "/v1/members?status=anonymous", { key: ws.key })).body.data;

    const resolved = await call("POST", `/v1/members/${anonymous.id}/resolve`, {
      key: agent,
      body: { targetId: target.id },
    });
    expect(resolved.status).toBe(404);
    const listed = await call("GET", "/v1/members?status=anonymous", { key: agent });
    expect(listed.status).toBe(200);
    expect(listed.body.data).toEqual([]);
    expect((await call("DELETE", "/v1/labels/team", { key: agent })).status).toBe(403);
    const replay = await openLive({ key: agent, after: 0 });
    const about = replay.messages.flatMap((m) =>
      "seq" in m ? [(m.data as { member?: { id: string } }).member?.id] : [],
    );
    expect(about).not.toContain(anonymous.id);
    expect(about).not.toContain(target.id);
  });
});
