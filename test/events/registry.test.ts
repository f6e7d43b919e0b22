import { env } from "cloudflare:workers";
import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { appendEvent } from "../../worker/events/append";
import { EVENT_FAMILIES } from "../../worker/events/families";
import { EVENT_TYPES, EVENTS, Event } from "../../worker/events/registry";
import { database } from "../../worker/lib/db";
import { eventsOf } from "../db";
import { addMember, call, newWorkspace } from "../helpers";

describe("the event registry", () => {
  it("names a family with a read rule for every event type, so the live stream knows who may watch it", () => {
    for (const type of EVENT_TYPES) expect(Object.keys(EVENT_FAMILIES)).toContain(type.split(".")[0]);
  });

  it("parses the events a write appends as their type's data, and refuses one whose data is not", async () => {
    const ws = await newWorkspace();
    const member = await addMember(ws, { email: "parsed@x.test", labels: ["vip"] });
    const created = (await eventsOf(ws.id)).findLast((e) => e.type === "member.created");
    const event = v.parse(Event, { ...created, at: new Date().toISOString() });
    expect(event.type === "member.created" && event.data.member.id).toBe(member.id);
    expect(v.safeParse(EVENTS["member.created"], { member: { id: member.id } }).success).toBe(false);
  });

  it("is what the API reference documents as Event: one schema per type, members by reference to Member", async () => {
    const doc = (await call("GET", "/openapi.json")).body;
    const event = doc.components.schemas.Event as { oneOf: { properties: Record<string, Record<string, unknown>> }[] };
    const types = event.oneOf.map((option) => option.properties.type?.const);
    expect(new Set(types)).toEqual(new Set(EVENT_TYPES));
    const created = event.oneOf.find((option) => option.properties.type?.const === "member.created");
    expect(created?.properties.data).toMatchObject({ properties: { member: { $ref: "#/components/schemas/Member" } } });
  });

  it("refuses to compile an event of an unknown type, or data its type's schema does not take", () => {
    const db = database(env.SCRATCH_A);
    // Checked by tsc (`npm run check`), never run: each line must fail to compile.
    const wrong = [
      // @ts-expect-error: no such event type in worker/events/registry.ts
      () => appendEvent(db, "ws", "label.renamed", { slug: "vip" }),
      // @ts-expect-error: label.deleted names its label by slug, a string
      () => appendEvent(db, "ws", "label.deleted", { slug: 1 }),
    ];
    expect(wrong).toHaveLength(2);
  });
});
