import { describe, expect, it } from "vitest";
import { confirmChange as confirmOutsideTheObject } from "../../worker/credentials/confirm";
import { sha256Hex } from "../../worker/lib/crypto";
import { database } from "../../worker/lib/db";
import { statusOf } from "../../worker/lib/error-codes";
import { eventsOf, shardDb } from "../db";
import { addMember, call, newWorkspace } from "../helpers";
import { confirmChange, startedChange } from "./helpers";

const statuses = (responses: { status: number }[]) => responses.map((r) => r.status).sort();
const changedEvents = async (workspaceId: string) =>
  (await eventsOf(workspaceId)).filter((e) => e.type === "member.credential_changed");

describe("racing confirmations", () => {
  it("lets exactly one of 50 concurrent confirmations of one link through; the rest get 409, or 429 past the link's limit", async () => {
    const ws = await newWorkspace();
    const member = await addMember(ws, { email: "race@x.test" });
    const { token } = await startedChange(ws, member.id, { kind: "email", value: "raced@x.test" }, "race@x.test");
    const responses = await Promise.all(Array.from({ length: 50 }, () => confirmChange(token)));
    expect(responses.filter((r) => r.status === 200)).toHaveLength(1);
    const codes = new Set(responses.filter((r) => r.status !== 200).map((r) => `${r.status} ${r.body.error.code}`));
    // Five attempts a minute per link (RATE_LIMIT_PER_TARGET) race in the object; the others are refused before it.
    expect([...codes].sort()).toEqual(["409 change_used", "429 rate_limited"]);
    expect(await changedEvents(ws.id)).toHaveLength(1);
  });

  it("lets one of two members take the same new email; the other gets 409 duplicate naming the winner", async () => {
    const ws = await newWorkspace();
    const ann = await addMember(ws, { email: "ann@x.test" });
    const bob = await addMember(ws, { email: "bob@x.test" });
    const a = await startedChange(ws, ann.id, { kind: "email", value: "shared@x.test" }, "ann@x.test");
    const b = await startedChange(ws, bob.id, { kind: "email", value: "shared@x.test" }, "bob@x.test");
    const [ra, rb] = await Promise.all([confirmChange(a.token), confirmChange(b.token)]);
    expect(statuses([ra, rb])).toEqual([200, 409]);
    const [winner, loser] = ra.status === 200 ? [ra, rb] : [rb, ra];
    expect(winner.body.member.email).toBe("shared@x.test");
    expect(loser.body.error).toMatchObject({ code: "duplicate", existingId: winner.body.member.id });
    const holders = await call("GET", "/v1/members?q=shared@x.test", { key: ws.key });
    expect(holders.body.data.map((m: { id: string }) => m.id)).toEqual([winner.body.member.id]);
  });

  it("lets one of two members take the same new phone when both confirm at once", async () => {
    const ws = await newWorkspace();
    const ann = await addMember(ws, { phone: "+14155550170" });
    const bob = await addMember(ws, { phone: "+14155550171" });
    const a = await startedChange(ws, ann.id, { kind: "phone", value: "+14155550179" }, "+14155550170");
    const b = await startedChange(ws, bob.id, { kind: "phone", value: "+1 415 555 0179" }, "+14155550171");
    const responses = await Promise.all([confirmChange(a.token), confirmChange(b.token)]);
    expect(statuses(responses)).toEqual([200, 409]);
    expect(responses.find((r) => r.status === 409)?.body.error.code).toBe("duplicate");
  });

  it("gives a new email to the confirmation or to a member created with it at the same moment, never both", async () => {
    const ws = await newWorkspace();
    const member = await addMember(ws, { email: "mid@x.test" });
    const { token } = await startedChange(ws, member.id, { kind: "email", value: "contested@x.test" }, "mid@x.test");
    const [confirmed, created] = await Promise.all([
      confirmChange(token),
      call("POST", "/v1/members", { key: ws.key, body: { name: "Rival", email: "contested@x.test" } }),
    ]);
    expect([confirmed.status, created.status].filter((s) => s === 409)).toHaveLength(1);
    expect([confirmed, created].find((r) => r.status === 409)?.body.error.code).toBe("duplicate");
    const holders = await call("GET", "/v1/members?q=contested@x.test", { key: ws.key });
    expect(holders.body.data).toHaveLength(1);
  });

  it("either confirms before an archive at the same moment or refuses with member_archived", async () => {
    const ws = await newWorkspace();
    const member = await addMember(ws, { email: "brink@x.test" });
    const { token } = await startedChange(ws, member.id, { kind: "email", value: "beyond@x.test" }, "brink@x.test");
    const [confirmed, archived] = await Promise.all([
      confirmChange(token),
      call("POST", `/v1/members/${member.id}/archive`, { key: ws.key }),
    ]);
    expect(archived.status).toBe(200);
    const after = await call("GET", `/v1/members/${member.id}`, { key: ws.key });
    if (confirmed.status === 200) {
      expect(after.body).toMatchObject({ email: "beyond@x.test", status: "archived" });
    } else {
      expect(confirmed.body.error.code).toBe("member_archived");
      expect(after.body).toMatchObject({ email: "brink@x.test", status: "archived" });
    }
  });

  it("lets one of many confirmations through even when they bypass the Durable Object", async () => {
    const ws = await newWorkspace();
    const member = await addMember(ws, { email: "direct@x.test" });
    const { token } = await startedChange(ws, member.id, { kind: "email", value: "direct2@x.test" }, "direct@x.test");
    const hash = await sha256Hex(token);
    const db = database(await shardDb(ws.id));
    const results = await Promise.all(Array.from({ length: 20 }, () => confirmOutsideTheObject(db, ws.id, hash)));
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.filter((r) => !r.ok).every((r) => !r.ok && statusOf(r.code) === 409)).toBe(true);
    expect(await changedEvents(ws.id)).toHaveLength(1);
  });
});
