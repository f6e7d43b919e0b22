import { describe, expect, it } from "vitest";
import { eventsOf } from "../db";
import { addMember, addRole, call, keyForRole, newWorkspace } from "../helpers";
import { configureSms, newNumber, postInbound, smsParams, storedRows } from "../provider/twilio";
import { range } from "../wait";

type Merged = { type: string; data: { member: { id: string }; into: { id: string; labels: string[] } } };

describe("resolving under a role condition, racing a change that hides the target", () => {
  it("merges only into a target still in reach when the merge's batch runs; otherwise 404 and nothing moves", async () => {
    const ws = await newWorkspace();
    await addRole(ws, "desk-admin", ["members:admin"], "team", `!("vip" in member.labels)`);
    const agent = (await keyForRole(ws, "desk-admin")).key;
    await configureSms(ws);
    const pairs = await Promise.all(
      range(1, 8).map(async (i) => {
        const target = await addMember(ws, { email: `target${i}@example.test` });
        const from = newNumber();
        expect((await postInbound(ws.id, "sms", smsParams(from, `hello ${i}`))).status).toBe(200);
        const listed = await call("GET", `/v1/members?status=anonymous&q=${encodeURIComponent(from)}`, { key: ws.key });
        return { target, source: listed.body.data[0] };
      }),
    );

    // The owner labels each target "vip", hiding it from the agent, while the agent resolves into it.
    const outcomes = await Promise.all(
      pairs.map(async ({ source, target }) => {
        const [resolved] = await Promise.all([
          call("POST", `/v1/members/${source.id}/resolve`, { key: agent, body: { targetId: target.id } }),
          call("POST", `/v1/members/${target.id}/labels`, { key: ws.key, body: { labels: ["vip"] } }),
        ]);
        return { source, target, status: resolved.status, code: resolved.body?.error?.code };
      }),
    );

    const merges = ((await eventsOf(ws.id)) as unknown as Merged[]).filter((e) => e.type === "member.merged");
    for (const { source, target, status, code } of outcomes) {
      const mine = merges.filter((e) => e.data.member.id === source.id);
      const after = (await call("GET", `/v1/members/${source.id}`, { key: ws.key })).body;
      if (status === 200) {
        // It merged before the label: the target, as the merge's batch found it, was in reach.
        expect(mine).toHaveLength(1);
        expect(mine[0]?.data.into).toMatchObject({ id: target.id, labels: [] });
        expect(after.status).toBe("merged");
      } else {
        expect({ status, code }).toEqual({ status: 404, code: "not_found" });
        expect(mine).toEqual([]);
        expect(after.status).toBe("anonymous");
      }
    }
  });

  it("refuses with 403 a merge that would leave the source beyond the condition, moving nothing", async () => {
    const ws = await newWorkspace();
    await addRole(ws, "desk-admin", ["members:admin"], "team", `member.status != "merged"`);
    const agent = (await keyForRole(ws, "desk-admin")).key;
    const target = await addMember(ws, { email: "target@example.test" });
    await configureSms(ws);
    const from = newNumber();
    expect((await postInbound(ws.id, "sms", smsParams(from, "hello"))).status).toBe(200);
    const [source] = (await call("GET", "/v1/members?status=anonymous", { key: ws.key })).body.data;

    const refused = await call("POST", `/v1/members/${source.id}/resolve`, {
      key: agent,
      body: { targetId: target.id },
    });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe("forbidden_by_condition");
    expect((await call("GET", `/v1/members/${source.id}`, { key: ws.key })).body.status).toBe("anonymous");
    expect((await call("GET", `/v1/members/${target.id}/messages`, { key: ws.key })).body.data).toEqual([]);
  });
});

describe("undoing a merge under a role condition", () => {
  it("answers 404 and moves nothing when the condition hides the member it was resolved into", async () => {
    const ws = await newWorkspace();
    await configureSms(ws);
    await addRole(ws, "desk-admin", ["members:admin"], "team", `!("vip" in member.labels)`);
    const agent = (await keyForRole(ws, "desk-admin")).key;
    const [vip, plain] = await Promise.all(
      ["vip", "plain"].map(async (name) => {
        const target = await addMember(ws, { email: `${name}@example.test` });
        const from = newNumber();
        await postInbound(ws.id, "sms", smsParams(from, `hello from ${name}`));
        const listed = await call("GET", `/v1/members?status=anonymous&q=${encodeURIComponent(from)}`, { key: ws.key });
        const source = listed.body.data[0];
        const merged = await call("POST", `/v1/members/${source.id}/resolve`, {
          key: agent,
          body: { targetId: target.id },
        });
        expect(merged.status).toBe(200);
        return { source, target };
      }),
    );
    if (!vip || !plain) throw new Error("two merges expected");
    await call("POST", `/v1/members/${vip.target.id}/labels`, { key: ws.key, body: { labels: ["vip"] } });
    const before = await storedRows(ws.id);

    const hidden = await call("POST", `/v1/members/${vip.source.id}/resolve/undo`, { key: agent });
    expect({ status: hidden.status, code: hidden.body.error?.code }).toEqual({ status: 404, code: "not_found" });
    expect(await storedRows(ws.id)).toEqual(before);
    const history = await call("GET", `/v1/members/${vip.target.id}/messages`, { key: ws.key });
    expect(history.body.data.map((m: { body: string }) => m.body)).toEqual(["hello from vip"]);

    const undone = await call("POST", `/v1/members/${plain.source.id}/resolve/undo`, { key: agent });
    expect(undone.status).toBe(200);
    expect(undone.body).toMatchObject({ member: { id: plain.source.id, status: "anonymous" }, restored: 1 });
  });

  it("refuses with 403 an undo that would leave the restored member beyond the condition, moving nothing", async () => {
    const ws = await newWorkspace();
    await configureSms(ws);
    await addRole(ws, "desk-admin", ["members:admin"], "team", `member.status != "anonymous"`);
    const agent = (await keyForRole(ws, "desk-admin")).key;
    const target = await addMember(ws, { email: "target@example.test" });
    const from = newNumber();
    await postInbound(ws.id, "sms", smsParams(from, "hello"));
    const [source] = (await call("GET", "/v1/members?status=anonymous", { key: ws.key })).body.data;
    // The owner merges; the merged source is in the agent's reach, an anonymous one would not be.
    expect(
      (await call("POST", `/v1/members/${source.id}/resolve`, { key: ws.key, body: { targetId: target.id } })).status,
    ).toBe(200);
    const before = await storedRows(ws.id);

    const refused = await call("POST", `/v1/members/${source.id}/resolve/undo`, { key: agent });
    expect({ status: refused.status, code: refused.body.error?.code }).toEqual({
      status: 403,
      code: "forbidden_by_condition",
    });
    expect(await storedRows(ws.id)).toEqual(before);
    expect((await call("GET", `/v1/members/${source.id}`, { key: ws.key })).body.status).toBe("merged");
    const events = (await eventsOf(ws.id)) as unknown as { type: string }[];
    expect(events.filter((e) => e.type === "member.unmerged")).toEqual([]);

    const undone = await call("POST", `/v1/members/${source.id}/resolve/undo`, { key: ws.key });
    expect(undone.body).toMatchObject({ member: { id: source.id, status: "anonymous" }, restored: 1 });
  });
});
