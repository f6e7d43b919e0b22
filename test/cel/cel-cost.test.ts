import { describe, expect, it } from "vitest";
import { MAX_INPUT_ITEMS } from "../../worker/cel/cel-cost";
import { createAction, deliveries, eventually, mockReceiver } from "../actions/helpers";
import { shardDb } from "../db";
import { addMember, addRole, call, keyForRole, newWorkspace, type Workspace } from "../helpers";

const saveAction = (ws: Workspace, condition: string) =>
  call("POST", "/v1/actions", {
    key: ws.key,
    body: { name: "A", trigger: "message.received", condition, action: { type: "label", add: ["x"] } },
  });

/** Gives a member more labels than evaluations take (straight in D1: the API adds 50 at a time). */
async function overLabel(ws: Workspace, memberId: string) {
  const labels = Array.from({ length: MAX_INPUT_ITEMS + 200 }, (_, i) => `l${i}`);
  await (await shardDb(ws.id))
    .prepare("update members set labels = ? where id = ?")
    .bind(JSON.stringify(labels), memberId)
    .run();
}

describe("CEL conditions that could hang are refused when saved", () => {
  it.each([
    ["a regex that backtracks without end", `event.data.text.matches("(a+)+$")`, "repeats a group", 25],
    ["a regex with a backreference", `event.data.text.matches("(a)\\\\1")`, "backreference", 25],
    ["a regex with a lookahead", `event.data.text.matches("(?=a)b")`, "lookaround", 25],
    ["a pattern that is not a literal", `event.data.text.matches(member.name)`, "string literal", 25],
    ["a costly regex over a long text", `event.data.text.matches(".*a.*b.*c")`, "Too costly", 1],
    [
      "two comprehensions nested over a member's labels",
      `member.labels.exists(a, member.labels.exists(b, a != b && a == "x"))`,
      "Too costly",
      1,
    ],
    [
      "a comprehension over every character of a text",
      `event.data.text.split("").exists(c, event.data.text.split("").exists(d, c == d))`,
      "Too costly",
      1,
    ],
  ])("%s: 422 with the position", async (_, condition, message, column) => {
    const ws = await newWorkspace();
    const res = await saveAction(ws, condition);
    expect(res.status).toBe(422);
    expect(res.body.error.issues[0]).toMatchObject({ path: "condition", line: 1, column });
    expect(res.body.error.issues[0].message).toContain(message);
  });

  it.each([
    `member.email.matches("^[a-z.]+@example[.]test$")`,
    `event.data.text.matches("^(?:hi|hello)[ ,!]{0,3}")`,
    `event.data.text.contains("stop") || "vip" in member.labels`,
    `member.labels.exists(a, ["vip", "vip-desk"].exists(b, a == b))`,
    `member.labels.exists(a, a.startsWith("team-") && a.size() < 20 && a != "team-x")`,
  ])("accepts a bounded condition: %s", async (condition) => {
    const ws = await newWorkspace();
    expect((await saveAction(ws, condition)).status).toBe(201);
  });
});

describe("inputs beyond the evaluation bounds are refused, never evaluated", () => {
  it("an action's run is marked failed with the reason, and does nothing", async () => {
    const { url, received } = mockReceiver();
    const ws = await newWorkspace();
    const action = await createAction(ws, {
      trigger: "member.updated",
      condition: `member.labels.exists(a, a == "x")`,
      action: { type: "webhook", url },
    });
    const member = await addMember(ws, { email: "many@example.test" });
    await overLabel(ws, member.id);
    expect((await call("PATCH", `/v1/members/${member.id}`, { key: ws.key, body: { name: "Many" } })).status).toBe(200);
    await eventually("the refused run", async () => (await deliveries(ws, action.id)).length === 1);
    const [run] = await deliveries(ws, action.id);
    expect(run.status).toBe("failed");
    expect(run.attempts[0].error).toContain(`member.labels has more than ${MAX_INPUT_ITEMS} items`);
    expect(received).toHaveLength(0);
  });

  it("a role's condition fails closed: a member beyond the bounds is out of reach, for reads and writes alike", async () => {
    const ws = await newWorkspace();
    await addRole(ws, "desk", ["members:write"], "team", `!("vip" in member.labels)`);
    const agent = await keyForRole(ws, "desk");
    const [many, few] = [
      await addMember(ws, { email: "many@example.test" }),
      await addMember(ws, { email: "few@example.test" }),
    ];
    await overLabel(ws, many.id);
    const refused = await call("PATCH", `/v1/members/${many.id}`, { key: agent.key, body: { name: "Renamed" } });
    expect(refused.status).toBe(404);
    expect((await call("GET", `/v1/members/${many.id}`, { key: agent.key })).status).toBe(404);
    const listed = await call("GET", "/v1/members?limit=100", { key: agent.key });
    expect(listed.body.data.map((m: { id: string }) => m.id)).not.toContain(many.id);
    expect(listed.body.data.map((m: { id: string }) => m.id)).toContain(few.id);
    expect((await call("GET", `/v1/members/${many.id}`, { key: ws.key })).body.name).not.toBe("Renamed");
    const allowed = await call("PATCH", `/v1/members/${few.id}`, { key: agent.key, body: { name: "Renamed" } });
    expect(allowed.status).toBe(200);
  });
});
