import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { waitFor } from "../wait";
import { callApi, createWorkspace, newPage, serverAndBrowser, signIn, type TestWorkspace } from "./browser";

const running = serverAndBrowser();

type Member = { id: string; name: string };

/** Imports members through the API (JSON or CSV body) and answers the import's id without waiting for it. */
async function startImport(ws: TestWorkspace, body: string, contentType: string) {
  const res = await fetch(`${running.server.url}/v1/imports?role=user`, {
    method: "POST",
    headers: { Authorization: `Bearer ${ws.key}`, "Content-Type": contentType },
    body,
  });
  if (res.status !== 202) throw new Error(`POST /v1/imports: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

async function importFinished(ws: TestWorkspace, id: string) {
  let state = { status: "running", created: 0 };
  await waitFor(
    `import ${id} to finish`,
    async () => {
      state = await callApi(running.server, ws.key, "GET", `/v1/imports/${id}`);
      return state.status !== "running";
    },
    60_000,
  );
  return state;
}

/** Records the most rows the members table ever held from now on (every DOM change is seen). */
async function watchTableSize(page: Page) {
  await page.evaluate(() => {
    const body = document.querySelector<HTMLTableSectionElement>("table.members tbody");
    if (!body) throw new Error("no members table");
    const most = { rows: body.rows.length };
    Object.assign(window, { mostRows: most });
    new MutationObserver(() => {
      most.rows = Math.max(most.rows, body.rows.length);
    }).observe(body, { childList: true });
  });
  return () => page.evaluate(() => (Reflect.get(window, "mostRows") as { rows: number }).rows);
}

const rowNames = (page: Page) =>
  page.locator("table.members tbody th").evaluateAll((cells) => cells.map((c) => c.firstChild?.textContent ?? ""));

describe("People -> Members under a burst of changes", () => {
  it("keeps one page of rows while 3,000 members are imported, announces them, edits a shown row in place, and shows the newest page on request", async () => {
    const ws = await createWorkspace(running.server);
    const seeded = Array.from({ length: 60 }, (_, i) => ({
      name: `Seeded Person ${i}`,
      email: `seed${i}@${ws.slug}.test`,
    }));
    await importFinished(ws, await startImport(ws, JSON.stringify({ members: seeded }), "application/json"));
    const { page, errors } = await newPage(await running.browser.newContext());
    await signIn(page, running.server, ws, ws.ownerEmail);
    const rows = page.locator("table.members tbody tr");
    await rows.nth(49).waitFor();
    const mostRows = await watchTableSize(page);
    const shown = (await callApi<{ data: Member[] }>(running.server, ws.key, "GET", "/v1/members?limit=1"))
      .data[0] as Member;

    const csv = Array.from({ length: 3000 }, (_, i) => `Burst Person ${i},burst${i}@${ws.slug}.test`).join("\n");
    const id = await startImport(ws, `name,email\n${csv}\n`, "text/csv");
    // Meanwhile another admin renames a member shown on this page.
    await callApi(running.server, ws.key, "PATCH", `/v1/members/${shown.id}`, { name: "Renamed During Burst" });
    expect((await importFinished(ws, id)).created).toBe(3000);

    const announcement = page.getByRole("button", { name: "3,000 new members: show" });
    await announcement.waitFor();
    await page.getByRole("row", { name: /Renamed During Burst/ }).waitFor();
    expect(await rows.count()).toBe(50);
    expect(await mostRows()).toBe(50);

    await announcement.click();
    await announcement.waitFor({ state: "detached" });
    const newest = await callApi<{ data: Member[] }>(running.server, ws.key, "GET", "/v1/members?limit=50");
    await expect.poll(() => rowNames(page)).toEqual(newest.data.map((m) => m.name));
    expect(newest.data[0]?.name).toMatch(/^Burst Person/);
    expect(await mostRows()).toBe(50);
    expect(errors).toEqual([]);
  });

  it("empties a list filtered by a label when the label is deleted from its 120 holders, announcing nothing", async () => {
    const ws = await createWorkspace(running.server);
    await callApi(running.server, ws.key, "POST", "/v1/labels", { name: "Gold", slug: "gold" });
    const holders = Array.from({ length: 120 }, (_, i) => ({
      name: `Gold Holder ${i}`,
      email: `gold${i}@${ws.slug}.test`,
      labels: ["gold"],
    }));
    await importFinished(ws, await startImport(ws, JSON.stringify({ members: holders }), "application/json"));
    const { page, errors } = await newPage(await running.browser.newContext());
    await signIn(page, running.server, ws, ws.ownerEmail);
    await page.getByLabel("Label", { exact: true }).selectOption("gold");
    const rows = page.locator("table.members tbody tr");
    await expect.poll(() => rowNames(page)).toHaveLength(50);
    expect((await rowNames(page)).every((name) => name.startsWith("Gold Holder"))).toBe(true);
    const mostRows = await watchTableSize(page);

    await callApi(running.server, ws.key, "DELETE", "/v1/labels/gold");
    await page.getByText("No members match.").waitFor();
    expect(await rows.count()).toBe(0);
    expect(await page.locator(".announcement").count()).toBe(0);
    expect(await mostRows()).toBe(50);
    expect(errors).toEqual([]);
  });
});
