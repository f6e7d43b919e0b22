import { describe, expect, it } from "vitest";
import { addMember, addRole, call, d1Usage, keyForRole, newWorkspace, type Workspace, walkPages } from "../helpers";

/**
 * A search merges one index range per character of q, and D1 caps a statement at
 * 100,000 bytes. These searches take the most the list query allows (worker/members/schema.ts):
 * a q of 100 characters, 10 labels, a type and a role.
 */
const Q = "Maria-Fernanda ".padEnd(100, "Longname");
const LABELS = Array.from({ length: 10 }, (_, i) => `label-${i}`);
const FILTERS = [...LABELS.map((l) => `label=${l}`), "type=customer", "role=user"].join("&");

const path = (query: string) => `/v1/members?q=${encodeURIComponent(Q)}&${query}`;
const search = (key: string, query: string) => call("GET", path(query), { key });
const ids = (members: { id: string }[]) => members.map((m) => m.id);

/** Conditions (at most 1,000 characters, MAX_SOURCE in worker/cel/cel.ts) that reach "@in.test" addresses. */
const IN_REACH = `member.email.endsWith("@in.test")`;
const repeated = (clause: string) => {
  let source = IN_REACH;
  while (`${source} || ${clause}`.length <= 1000) source = `${source} || ${clause}`;
  return source;
};
const comparisons = (count: number) => Array.from({ length: count }, (_, i) => `l == "v${i}"`).join(" || ");
const CONDITIONS = [
  // As in test/reach/condition-values.test.ts: 40, the most values a condition may bind.
  [
    "40 constants",
    `${IN_REACH} || member.status in ["anonymous", "merged"] || member.labels.exists(l, ${comparisons(38)})`,
  ],
  // First and last names are the longest SQL per character of a condition.
  ["the longest SQL", repeated("member.last_name.endsWith(member.first_name)")],
] as const;

describe("GET /v1/members?q= at the limits of the list query", () => {
  it("finds the members with every label by the longest q, page by page", async () => {
    const ws = await newWorkspace();
    const a = await addMember(ws, { name: `${Q} A`, email: "a@x.test", labels: LABELS });
    const b = await addMember(ws, { name: `${Q} B`, email: "b@x.test", labels: LABELS });
    await addMember(ws, { name: `${Q} C`, email: "c@x.test", labels: LABELS.slice(1) });
    await addMember(ws, { name: "Maria-Fernanda Short", email: "d@x.test", labels: LABELS });

    const res = await search(ws.key, FILTERS);
    expect(res.status).toBe(200);
    expect(ids(res.body.data)).toEqual([a.id, b.id]);
    expect(ids(await walkPages(ws.key, path(`${FILTERS}&limit=1`)))).toEqual([a.id, b.id]);
    expect((await call("GET", `/v1/members?q=${encodeURIComponent(`${Q}x`)}`, { key: ws.key })).status).toBe(422);
  });

  it.each(CONDITIONS)("finds only the members a role with %s reaches, by the longest q", async (_, condition) => {
    const ws = await newWorkspace();
    await addRole(ws, "desk", ["members:read"], "team", condition);
    const { key } = await keyForRole(ws, "desk");
    const reached = await addMember(ws, { name: `${Q} A`, email: "a@in.test", labels: LABELS });
    await addMember(ws, { name: `${Q} B`, email: "b@out.test", labels: LABELS });

    const res = await search(key, FILTERS);
    expect(res.status).toBe(200);
    expect(ids(res.body.data)).toEqual([reached.id]);
  });

  it("reads as many rows for a filtered page whether 3 or 30 members match", async () => {
    const ws = await newWorkspace();
    const [few, many] = await rowsReadFor3And30(ws, ws.key, "x.test");
    // The filters skip rows as each range is walked; after merging, the page would read every match.
    expect(many).toBe(few);
  });

  it.each(CONDITIONS)(
    "reads as many rows for a page under a role with %s whether 3 or 30 members match",
    async (_, condition) => {
      const ws = await newWorkspace();
      await addRole(ws, "desk", ["members:read"], "team", condition);
      const { key } = await keyForRole(ws, "desk");
      const [few, many] = await rowsReadFor3And30(ws, key, "in.test");
      // The condition, like the filters, is pushed into each range: the page reads its own rows only.
      expect(many).toBe(few);
    },
  );
});

/** D1's rows read by a filtered search page of 2 (as `key` sees it) with 3 matching members in the workspace, then with 30. */
async function rowsReadFor3And30(ws: Workspace, key: string, domain: string): Promise<[number, number]> {
  const add = (from: number, to: number) =>
    Promise.all(
      Array.from({ length: to - from }, (_, i) =>
        addMember(ws, { name: `${Q} ${from + i}`, email: `m${from + i}@${domain}`, labels: LABELS }),
      ),
    );
  const rowsRead = async () => {
    const res = await search(key, `${FILTERS}&limit=2`);
    expect(ids(res.body.data)).toHaveLength(2);
    return d1Usage(res.headers).rowsRead;
  };
  await add(0, 3);
  const few = await rowsRead();
  await add(3, 30);
  return [few, await rowsRead()];
}
