import { describe, expect, it } from "vitest";
import { addMember, call, keyForRole, newWorkspace, type Workspace, walkPages } from "../helpers";
import { csv, importCsv } from "../imports/helpers";
import { openLive, waitFor } from "../live/sockets";
import { configureSms, newNumber, postInbound, smsParams } from "../provider/twilio";

const VIP_DESK = `!("vip" in member.labels) || "vip-desk" in actor.labels`;

async function createRole(ws: Workspace, key: string, condition: unknown, scopes = ["members:write", "labels:read"]) {
  return call("POST", "/v1/roles", {
    key: ws.key,
    body: { key, name: `Role ${key}`, type: "team", scopes, condition },
  });
}

/** A workspace with a "desk" role limited by VIP_DESK, a VIP, a regular member, and two agents. */
async function deskWorkspace() {
  const ws = await newWorkspace();
  expect((await createRole(ws, "desk", VIP_DESK)).status).toBe(201);
  const vip = await addMember(ws, { email: "vip@example.test", name: "Vera Vip", labels: ["vip"] });
  const regular = await addMember(ws, { email: "reg@example.test", name: "Rob Regular" });
  const agent = await keyForRole(ws, "desk");
  const vipAgent = await keyForRole(ws, "desk");
  const labelled = await call("POST", `/v1/members/${vipAgent.member.id}/labels`, {
    key: ws.key,
    body: { labels: ["vip-desk"] },
  });
  expect(labelled.status).toBe(200);
  return { ws, vip, regular, agent: agent.key, vipAgent: vipAgent.key };
}

describe("role conditions when saved", () => {
  it("stores a valid condition and shows it on the role", async () => {
    const ws = await newWorkspace();
    const res = await createRole(ws, "desk", VIP_DESK);
    expect(res.status).toBe(201);
    expect(res.body.condition).toBe(VIP_DESK);
    const listed = await call("GET", "/v1/roles", { key: ws.key });
    expect(listed.body.nextCursor).toBeNull(); // every role in one page
    expect(listed.body.data.find((r: { key: string }) => r.key === "desk").condition).toBe(VIP_DESK);
  });

  it.each([
    ["an unknown field", `member.nme == "x"`, 1, 8],
    ["a syntax error", `member.name ==`, 1, 15],
    ["an unknown variable", `user.name == "x"`, 1, 1],
    ["a second-line error", `member.name == "a" &&\n  foo`, 2, 3],
  ])("answers 422 with the position for %s", async (_, condition, line, column) => {
    const ws = await newWorkspace();
    const res = await createRole(ws, "r", condition);
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe("invalid_condition");
    expect(res.body.error.issues[0]).toMatchObject({ path: "condition", line, column });
    expect(res.body.error.issues[0].message).toContain(`line ${line}, column ${column}`);
  });

  it("answers 422 for a condition that is not a bool", async () => {
    const ws = await newWorkspace();
    const res = await createRole(ws, "r", "member.name");
    expect(res.status).toBe(422);
    expect(res.body.error.issues[0].message).toContain("bool");
  });

  it.each([
    ["deep nesting", `${"(".repeat(40)}true${")".repeat(40)}`],
    ["a huge list", `member.role in [${Array.from({ length: 200 }, (_, i) => `"r${i}"`).join(", ")}]`],
    ["a huge literal", `member.name == "${"x".repeat(600)}"`],
    ["nested comprehensions", `member.labels.all(a, member.labels.all(b, member.labels.all(c, a == b && b == c)))`],
  ])("refuses a too costly expression: %s", async (_, condition) => {
    const ws = await newWorkspace();
    const res = await createRole(ws, "r", condition);
    expect(res.status).toBe(422);
    expect(res.body.error.issues[0].path).toBe("condition");
  });

  it("refuses a condition longer than 1000 characters", async () => {
    const ws = await newWorkspace();
    const long = Array.from({ length: 120 }, () => `member.role == "x"`).join(" || ");
    const res = await createRole(ws, "r", long);
    expect(res.status).toBe(422);
    expect(res.body.error.issues[0].path).toBe("condition");
  });

  it("refuses a condition that lists could not filter by, saying so", async () => {
    const ws = await newWorkspace();
    const res = await createRole(ws, "r", `member.name.size() > 3`);
    expect(res.status).toBe(422);
    expect(res.body.error.issues[0]).toMatchObject({ path: "condition", line: 1 });
    expect(res.body.error.issues[0].message).toContain("query filter");
  });

  it("sets, changes and clears a condition with PATCH", async () => {
    const ws = await newWorkspace();
    await createRole(ws, "r", null);
    const set = await call("PATCH", "/v1/roles/r", { key: ws.key, body: { condition: `member.status == "active"` } });
    expect(set.status).toBe(200);
    expect(set.body.condition).toBe(`member.status == "active"`);
    const bad = await call("PATCH", "/v1/roles/r", { key: ws.key, body: { condition: `member.status ==` } });
    expect(bad.status).toBe(422);
    const cleared = await call("PATCH", "/v1/roles/r", { key: ws.key, body: { condition: null } });
    expect(cleared.body.condition).toBeNull();
  });
});

describe("a role with a condition", () => {
  it("reaches the members the condition holds for", async () => {
    const { regular, agent } = await deskWorkspace();
    expect((await call("GET", `/v1/members/${regular.id}`, { key: agent })).status).toBe(200);
    const patched = await call("PATCH", `/v1/members/${regular.id}`, { key: agent, body: { name: "Rob R." } });
    expect(patched.status).toBe(200);
    expect(patched.body.name).toBe("Rob R.");
  });

  it("answers 404 for every read and write of a member it excludes, changing nothing", async () => {
    const { ws, vip, agent } = await deskWorkspace();
    const attempts = [
      call("GET", `/v1/members/${vip.id}`, { key: agent }),
      call("PATCH", `/v1/members/${vip.id}`, { key: agent, body: { name: "Hacked" } }),
      call("POST", `/v1/members/${vip.id}/archive`, { key: agent }),
      call("POST", `/v1/members/${vip.id}/labels`, { key: agent, body: { labels: ["x"] } }),
      call("DELETE", `/v1/members/${vip.id}/labels/vip`, { key: agent }),
      call("POST", `/v1/members/${vip.id}/credential-changes`, {
        key: agent,
        body: { kind: "email", value: "new@example.test" },
      }),
    ];
    for (const res of await Promise.all(attempts)) {
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe("not_found");
    }
    const after = await call("GET", `/v1/members/${vip.id}`, { key: ws.key });
    expect(after.body).toMatchObject({ name: "Vera Vip", labels: ["vip"], status: "active" });
  });

  it("answers 404 for unarchiving an excluded member", async () => {
    const { ws, vip, agent } = await deskWorkspace();
    expect((await call("POST", `/v1/members/${vip.id}/archive`, { key: ws.key })).status).toBe(200);
    expect((await call("POST", `/v1/members/${vip.id}/unarchive`, { key: agent })).status).toBe(404);
  });

  it("reaches everyone when the actor's labels satisfy the condition", async () => {
    const { vip, vipAgent } = await deskWorkspace();
    expect((await call("GET", `/v1/members/${vip.id}`, { key: vipAgent })).status).toBe(200);
    const archived = await call("POST", `/v1/members/${vip.id}/archive`, { key: vipAgent });
    expect(archived.status).toBe(200);
  });

  it("lists only the members it reaches, in the query: full pages, each member once", async () => {
    const { ws, vip, regular, agent, vipAgent } = await deskWorkspace();
    const extra = [];
    for (let i = 0; i < 6; i++) {
      extra.push(await addMember(ws, { email: `m${i}@example.test`, labels: i % 2 === 0 ? ["vip"] : ["plain"] }));
    }
    const everyone = await walkPages(ws.key, "/v1/members?limit=100");
    const reached = everyone.filter((m) => !m.labels.includes("vip")).map((m) => m.id);
    expect(reached).toContain(regular.id);

    const page = await call("GET", "/v1/members?limit=2", { key: agent });
    expect(page.body.data).toHaveLength(2);
    expect(page.body.nextCursor).not.toBeNull();
    const walked = await walkPages(agent, "/v1/members?limit=2");
    expect(walked.map((m) => m.id)).toEqual(reached);
    expect(walked.some((m) => m.id === vip.id)).toBe(false);

    const byLabel = await walkPages(agent, "/v1/members?label=vip&limit=2");
    expect(byLabel).toEqual([]);
    const plain = await walkPages(agent, "/v1/members?label=plain&limit=1");
    expect(plain.map((m) => m.id)).toEqual(
      extra
        .filter((_, i) => i % 2 === 1)
        .map((m) => m.id)
        .reverse(),
    );

    const all = await walkPages(vipAgent, "/v1/members?limit=3");
    expect(all.map((m) => m.id)).toEqual(everyone.map((m) => m.id));
  });

  it("filters searches in the query too", async () => {
    const { ws, vip, agent } = await deskWorkspace();
    await addMember(ws, { email: "vera.other@example.test", name: "Vera Other" });
    const found = await walkPages(agent, "/v1/members?q=vera&limit=1");
    expect(found.map((m) => m.name)).toEqual(["Vera Other"]);
    const owner = await walkPages(ws.key, "/v1/members?q=vera&limit=1");
    expect(owner.map((m) => m.id)).toContain(vip.id);
  });

  it("filters by field conditions: equality, in-lists, prefixes", async () => {
    const ws = await newWorkspace();
    const condition = `member.email.endsWith("@acme.test") && member.role in ["user", "desk"] && !member.name.startsWith("Z") && member.first_name != "Bob"`;
    expect((await createRole(ws, "desk", condition)).status).toBe(201);
    const a = await addMember(ws, { email: "ann@acme.test", name: "Ann Able" });
    await addMember(ws, { email: "zed@acme.test", name: "Zed Zero" });
    await addMember(ws, { email: "bob@acme.test", name: "Bob Brown" });
    await addMember(ws, { email: "cat@other.test", name: "Cat Cole" });
    const agent = await keyForRole(ws, "desk");
    const listed = await walkPages(agent.key, "/v1/members?limit=10");
    expect(listed.map((m) => m.id).sort()).toEqual([a.id].sort());
  });

  it("reads a loop variable named actor as the loop's label, as CEL does, not as the caller", async () => {
    const ws = await newWorkspace();
    expect((await createRole(ws, "desk", `member.labels.all(actor, actor != "secret")`)).status).toBe(201);
    const open = await addMember(ws, { email: "open@example.test", labels: ["vip"] });
    const hidden = await addMember(ws, { email: "hidden@example.test", labels: ["secret"] });
    const agent = await keyForRole(ws, "desk");
    const listed = (await walkPages(agent.key, "/v1/members?limit=10")).map((m) => m.id);
    expect(listed).toContain(open.id);
    expect(listed).not.toContain(hidden.id);
    expect((await call("GET", `/v1/members/${hidden.id}`, { key: agent.key })).status).toBe(404);
  });
});

describe("the live stream of a role with a condition", () => {
  it("sends no events about members the condition excludes", async () => {
    const { ws, agent, vipAgent } = await deskWorkspace();
    const socket = await openLive({ key: agent });
    const allSeeing = await openLive({ key: vipAgent });
    const hidden = await addMember(ws, { email: "new-vip@example.test", labels: ["vip"] });
    const shown = await addMember(ws, { email: "new-plain@example.test" });
    const memberIds = (s: typeof socket) =>
      s.messages.flatMap((m) =>
        "seq" in m ? [(m.data as { member?: { id: string } }).member?.id].filter(Boolean) : [],
      );
    await waitFor("the reached member's event", () => memberIds(socket).includes(shown.id));
    await waitFor("both events for the vip desk", () => memberIds(allSeeing).includes(shown.id));
    expect(memberIds(allSeeing)).toContain(hidden.id);
    expect(memberIds(socket)).not.toContain(hidden.id);
  });

  it("filters the replay after a reconnect too", async () => {
    const { ws, agent } = await deskWorkspace();
    const hidden = await addMember(ws, { email: "new-vip@example.test", labels: ["vip"] });
    const shown = await addMember(ws, { email: "new-plain@example.test" });
    const socket = await openLive({ key: agent, after: 0 });
    const ids = socket.messages.flatMap((m) =>
      "seq" in m ? [(m.data as { member?: { id: string } }).member?.id] : [],
    );
    expect(ids).toContain(shown.id);
    expect(ids).not.toContain(hidden.id);
  });
});

/** Expects 403 forbidden_by_condition: the write would leave the member outside the caller's reach. */
function expectRefused(res: { status: number; body: { error: { code: string } } }) {
  expect(res.status).toBe(403);
  expect(res.body.error.code).toBe("forbidden_by_condition");
}

describe("writes that would leave a member outside the condition", () => {
  it("refuses to create a member the condition excludes, writing nothing", async () => {
    const { ws, agent, vipAgent } = await deskWorkspace();
    // Their own role: a conditioned caller assigns only roles with the same condition.
    const vip = { name: "New Vip", email: "new-vip@example.test", labels: ["vip"], role: "desk" };
    expectRefused(await call("POST", "/v1/members", { key: agent, body: vip }));
    const owner = await call("GET", "/v1/members?q=new-vip@example.test", { key: ws.key });
    expect(owner.body.data).toEqual([]);
    const plain = await call("POST", "/v1/members", { key: agent, body: { ...vip, labels: ["plain"] } });
    expect(plain.status).toBe(201);
    const byVipDesk = await call("POST", "/v1/members", {
      key: vipAgent,
      body: { ...vip, email: "other-vip@example.test" },
    });
    expect(byVipDesk.status).toBe(201);
  });

  it("refuses an edit or a label that would hide the member, changing nothing", async () => {
    const { ws, regular, agent, vipAgent } = await deskWorkspace();
    const attempts = [
      call("PATCH", `/v1/members/${regular.id}`, { key: agent, body: { name: "Rob V.", labels: ["vip"] } }),
      call("POST", `/v1/members/${regular.id}/labels`, { key: agent, body: { labels: ["vip"] } }),
    ];
    for (const res of await Promise.all(attempts)) expectRefused(res);
    const after = await call("GET", `/v1/members/${regular.id}`, { key: ws.key });
    expect(after.body).toMatchObject({ name: "Rob Regular", labels: [] });
    // Whom the condition lets through may make the same change.
    const labelled = await call("POST", `/v1/members/${regular.id}/labels`, {
      key: vipAgent,
      body: { labels: ["vip"] },
    });
    expect(labelled.status).toBe(200);
    expect(labelled.body.labels).toEqual(["vip"]);
  });

  it("refuses removing a label or archiving when the condition needs them, changing nothing", async () => {
    const ws = await newWorkspace();
    const condition = `"team" in member.labels && member.status == "active"`;
    expect((await createRole(ws, "crew", condition)).status).toBe(201);
    const member = await addMember(ws, { email: "t@example.test", name: "Tess Team", labels: ["team", "x"] });
    const agent = (await keyForRole(ws, "crew")).key;
    expectRefused(await call("DELETE", `/v1/members/${member.id}/labels/team`, { key: agent }));
    expectRefused(await call("POST", `/v1/members/${member.id}/archive`, { key: agent }));
    const after = await call("GET", `/v1/members/${member.id}`, { key: ws.key });
    expect(after.body).toMatchObject({ labels: ["team", "x"], status: "active" });
    const removed = await call("DELETE", `/v1/members/${member.id}/labels/x`, { key: agent });
    expect(removed.status).toBe(200);
    expect(removed.body.labels).toEqual(["team"]);
  });
});

describe("resolving an anonymous member under a condition", () => {
  it("answers 404 for a target the condition excludes, merging nothing", async () => {
    const { ws, vip, regular } = await deskWorkspace();
    expect((await createRole(ws, "desk-admin", VIP_DESK, ["members:admin"])).status).toBe(201);
    const admin = (await keyForRole(ws, "desk-admin")).key;
    await configureSms(ws);
    const sms = await postInbound(ws.id, "sms", smsParams(newNumber(), "hello"));
    expect(sms.status).toBe(200);
    const [anonymous] = (await call("GET", "/v1/members?status=anonymous", { key: ws.key })).body.data;

    const preview = await call("GET", `/v1/members/${anonymous.id}/resolve-preview?targetId=${vip.id}`, { key: admin });
    expect(preview.status).toBe(404);
    const refused = await call("POST", `/v1/members/${anonymous.id}/resolve`, {
      key: admin,
      body: { targetId: vip.id },
    });
    expect(refused.status).toBe(404);
    expect(refused.body.error.code).toBe("not_found");
    const still = await call("GET", `/v1/members/${anonymous.id}`, { key: ws.key });
    expect(still.body.status).toBe("anonymous");

    const resolved = await call("POST", `/v1/members/${anonymous.id}/resolve`, {
      key: admin,
      body: { targetId: regular.id },
    });
    expect(resolved.status).toBe(200);
    expect(resolved.body.member.id).toBe(regular.id);
  });
});

describe("imports under a condition", () => {
  it("reports rows creating or changing members outside the condition as row errors, applying the rest", async () => {
    const { ws, vip, regular, agent } = await deskWorkspace();
    const result = await importCsv(
      ws,
      csv(
        "email,name,labels",
        "new-vip@example.test,New Vip,vip",
        "new-plain@example.test,New Plain,",
        "vip@example.test,Vera Renamed,",
        "reg@example.test,,vip",
        "reg@example.test,Rob Renamed,",
      ),
      { key: agent, role: "desk" },
    );
    expect(result).toMatchObject({ status: "completed", created: 1, updated: 1, failed: 3 });
    expect(result.errors).toMatchObject([2, 4, 5].map((row) => ({ row, column: "email" })));
    for (const error of result.errors) expect(error.message).toContain("outside your reach");

    const get = async (id: string) => (await call("GET", `/v1/members/${id}`, { key: ws.key })).body;
    expect(await get(vip.id)).toMatchObject({ name: "Vera Vip", labels: ["vip"] });
    expect(await get(regular.id)).toMatchObject({ name: "Rob Renamed", labels: [] });
    const created = await call("GET", "/v1/members?q=new-&limit=10", { key: ws.key });
    expect(created.body.data.map((m: { email: string }) => m.email)).toEqual(["new-plain@example.test"]);
  });
});

describe("duplicates under a condition", () => {
  it("answers 409 duplicate naming the holder only when the condition reaches them", async () => {
    const { ws, vip, regular, agent } = await deskWorkspace();
    const hidden = await call("POST", "/v1/members", {
      key: agent,
      body: { name: "X", email: "vip@example.test", role: "desk" },
    });
    expect(hidden.status).toBe(409);
    expect(hidden.body.error.code).toBe("duplicate");
    expect(hidden.body.error.existingId).toBeUndefined();
    expect(JSON.stringify(hidden.body)).not.toContain(vip.id);
    const seen = await call("POST", "/v1/members", {
      key: agent,
      body: { name: "X", email: "reg@example.test", role: "desk" },
    });
    expect(seen.status).toBe(409);
    expect(seen.body.error.existingId).toBe(regular.id);

    await call("PATCH", `/v1/members/${vip.id}`, { key: ws.key, body: { externalId: "ext-vip" } });
    const patched = await call("PATCH", `/v1/members/${regular.id}`, { key: agent, body: { externalId: "ext-vip" } });
    expect(patched.status).toBe(409);
    expect(patched.body.error.existingId).toBeUndefined();
    const owner = await call("POST", "/v1/members", { key: ws.key, body: { name: "X", email: "vip@example.test" } });
    expect(owner.body.error.existingId).toBe(vip.id);
  });
});
