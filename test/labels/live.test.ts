import { describe, expect, it } from "vitest";
import { eventually } from "../actions/helpers";
import { eventsOf, logHead } from "../db";
import { addMember, addRole, call, keyForRole, newWorkspace } from "../helpers";
import { csv, importCsv } from "../imports/helpers";
import { openLive, waitFor } from "../live/sockets";

type Frame = { type: string; seq?: number; data?: { member?: { id: string; labels: string[] }; label?: unknown } };

describe("label changes seen live", () => {
  it("a deleted label reaches every open admin view as label.deleted and one member.unlabeled per holder", async () => {
    const ws = await newWorkspace();
    const held = await Promise.all(
      [1, 2, 3].map((i) => addMember(ws, { email: `h${i}@example.test`, labels: ["gone", "kept"] })),
    );
    const other = await addMember(ws, { email: "other@example.test", labels: ["kept"] });
    // From the log's head as committed, not as delivered: a poke still under way would replay the last member.created.
    const socket = await openLive({ key: ws.key, after: await logHead(ws.id) });

    expect((await call("DELETE", "/v1/labels/gone", { key: ws.key })).status).toBe(204);
    await waitFor(
      "member.unlabeled × 3",
      () => socket.messages.filter((m) => m.type === "member.unlabeled").length === 3,
    );
    const frames = (socket.messages as Frame[]).filter((m) => m.seq !== undefined);
    expect(frames.map((m) => m.type)).toEqual([
      "label.deleted",
      "member.unlabeled",
      "member.unlabeled",
      "member.unlabeled",
    ]);
    const members = frames.slice(1).map((m) => m.data?.member);
    expect(members.map((m) => m?.id).sort()).toEqual(held.map((m) => m.id).sort());
    for (const member of members) expect(member?.labels).toEqual(["kept"]);
    expect(members.map((m) => m?.id)).not.toContain(other.id);
  });

  it("labels created by naming them on a member or in an import come with label.created, once each", async () => {
    const ws = await newWorkspace();
    const socket = await openLive({ key: ws.key });
    const member = await addMember(ws, { email: "m@example.test", labels: ["on-create"] });
    await call("PATCH", `/v1/members/${member.id}`, { key: ws.key, body: { labels: ["on-create", "on-patch"] } });
    await call("POST", `/v1/members/${member.id}/labels`, { key: ws.key, body: { labels: ["on-add", "on-patch"] } });
    await importCsv(ws, csv("email,labels", '"m@example.test","on-import,on-add"', '"n@example.test","on-import"'));

    const listed = (await call("GET", "/v1/labels", { key: ws.key })).body.data.map(
      ({ holders: _, ...label }: { holders: number }) => label,
    );
    const created = ["on-add", "on-create", "on-import", "on-patch"];
    await waitFor("label.created × 4", () => socket.messages.filter((m) => m.type === "label.created").length >= 4);
    const announced = (socket.messages as Frame[]).filter((m) => m.type === "label.created").map((m) => m.data?.label);
    // Once each, as GET /v1/labels shows it.
    expect(announced).toHaveLength(created.length);
    expect([...announced].sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)))).toEqual(
      listed.filter((l: { slug: string }) => created.includes(l.slug)),
    );
    const log = await eventsOf(ws.id);
    expect(log.map((e) => e.seq)).toEqual(log.map((_, i) => i + 1));
  });

  it("an action's label creates the label with label.created", async () => {
    const ws = await newWorkspace();
    const action = await call("POST", "/v1/actions", {
      key: ws.key,
      body: { name: "Tag", trigger: "member.created", action: { type: "label", add: ["auto-tag"] } },
    });
    expect(action.status).toBe(201);
    await addMember(ws, { email: "a@example.test" });
    await eventually("label.created", async () => (await eventsOf(ws.id)).some((e) => e.type === "label.created"));
    const listed = (await call("GET", "/v1/labels", { key: ws.key })).body.data.map(
      ({ holders: _, ...label }: { holders: number }) => label,
    );
    expect((await eventsOf(ws.id)).filter((e) => e.type === "label.created").map((e) => e.data)).toEqual([
      { label: listed.find((l: { slug: string }) => l.slug === "auto-tag") },
    ]);
  });
});

describe("deleting a label under a role condition", () => {
  it("needs every holder in reach: else 403 forbidden_by_condition and nothing changes", async () => {
    const ws = await newWorkspace();
    await addRole(ws, "curator", ["members:read", "labels:admin"], "team", `!("vip" in member.labels)`);
    const agent = (await keyForRole(ws, "curator")).key;
    const vip = await addMember(ws, { email: "vip@example.test", labels: ["vip", "shared"] });
    const plain = await addMember(ws, { email: "plain@example.test", labels: ["shared", "mine"] });
    const before = (await eventsOf(ws.id)).length;

    const refused = await call("DELETE", "/v1/labels/shared", { key: agent });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe("forbidden_by_condition");
    expect((await call("GET", `/v1/members/${vip.id}`, { key: ws.key })).body.labels).toEqual(["shared", "vip"]);
    expect((await eventsOf(ws.id)).length).toBe(before);

    expect((await call("DELETE", "/v1/labels/mine", { key: agent })).status).toBe(204);
    expect((await call("GET", `/v1/members/${plain.id}`, { key: ws.key })).body.labels).toEqual(["shared"]);
  });
});
