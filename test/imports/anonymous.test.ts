import { describe, expect, it } from "vitest";
import { eventsOf } from "../db";
import { addMember, addRole, call, keyForRole, newWorkspace } from "../helpers";
import { configureSms, newNumber, postInbound, smsParams } from "../provider/twilio";
import { csv, importCsv } from "./helpers";

type ErrorJson = { row: number; column: string; value: string; message: string };

/** A workspace with an anonymous member (a number that texted) and an expired one. */
async function withStrangers() {
  const ws = await newWorkspace();
  await configureSms(ws);
  const [anonymousPhone, expiredPhone] = [newNumber(), newNumber()];
  for (const phone of [anonymousPhone, expiredPhone]) {
    expect((await postInbound(ws.id, "sms", smsParams(phone, "hello?"))).status).toBe(200);
  }
  const list = (await call("GET", "/v1/members?status=anonymous", { key: ws.key })).body.data;
  const byPhone = (phone: string) => list.find((m: { phone: string }) => m.phone === phone);
  const anonymous = byPhone(anonymousPhone);
  const expired = byPhone(expiredPhone);
  expect((await call("POST", `/v1/members/${expired.id}/expire`, { key: ws.key })).status).toBe(200);
  return { ws, anonymous, expired };
}

describe("an import matching anonymous, merged or expired members", () => {
  it("refuses those rows as errors unless the importer holds members:admin, changing nothing", async () => {
    const { ws, anonymous, expired } = await withStrangers();
    await addRole(ws, "clerk", ["members:write"]);
    const clerk = await keyForRole(ws, "clerk");
    const known = await addMember(ws, { email: "known@example.com" });
    const file = csv(
      "email,phone,name",
      `,${anonymous.phone},Named By Import`,
      `,${expired.phone},Named By Import`,
      `known@example.com,${anonymous.phone},Named By Import`,
    );
    const result = await importCsv(ws, file, { key: clerk.key, role: "clerk" });
    expect(result).toMatchObject({ status: "completed", updated: 0, created: 0, failed: 3 });
    const byRow = Object.fromEntries((result.errors as ErrorJson[]).map((e) => [e.row, e]));
    for (const [row, member] of [
      [2, anonymous],
      [3, expired],
    ] as const) {
      expect(byRow[row]).toEqual({
        row,
        column: "phone",
        value: member.phone,
        message:
          "The member matched by phone is anonymous, merged or expired; changing one needs the members:admin scope.",
      });
    }
    // A row naming an anonymous member beside another one does not give the clerk its id either.
    const asClerk = (await call("GET", `/v1/imports/${result.id}`, { key: clerk.key })).body;
    const row4 = (asClerk.errors as ErrorJson[]).find((e) => e.row === 4);
    expect(row4?.message).toContain(known.id);
    expect(row4?.message).not.toContain(anonymous.id);
    expect(byRow[4]?.message).toContain(anonymous.id);
    for (const member of [anonymous, expired]) {
      const after = (await call("GET", `/v1/members/${member.id}`, { key: ws.key })).body;
      expect(after).toMatchObject({ name: member.name, status: member.id === anonymous.id ? "anonymous" : "expired" });
    }
    const updates = (await eventsOf(ws.id)).filter((e) => e.type === "member.updated");
    expect(updates).toEqual([]);

    // The owner, who holds members:admin, may.
    const byOwner = await importCsv(ws, csv("phone,name", `${anonymous.phone},Named By Import`));
    expect(byOwner).toMatchObject({ updated: 1, failed: 0 });
  });
});
