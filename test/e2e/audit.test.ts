import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { waitFor } from "../wait";
import {
  callApi,
  createWorkspace,
  newPage,
  screenshot,
  seriousViolations,
  serverAndBrowser,
  signIn,
  type TestWorkspace,
  withinASecond,
} from "./browser";

const running = serverAndBrowser();

type Member = { id: string; name: string };

const eventRows = (page: Page) => page.locator("table.events tbody tr");
/** The rows' event types, top to bottom. */
const types = (page: Page) =>
  page.locator("table.events tbody tr").evaluateAll((rows) => rows.map((r) => r.dataset.type));

async function openAudit(page: Page) {
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Audit log" }).click();
  await page.getByRole("heading", { name: "Audit log" }).waitFor();
}

async function signedInOnAudit(ws: TestWorkspace, email: string) {
  const { page, errors } = await newPage(await running.browser.newContext());
  await signIn(page, running.server, ws, email);
  await openAudit(page);
  return { page, errors };
}

describe("the Audit log in Chromium", () => {
  it("lists events newest first with who did them, and shows another admin's changes live within a second, filters kept", async () => {
    const { server } = running;
    const ws = await createWorkspace(server);
    await callApi(server, ws.key, "POST", "/v1/members", {
      name: "Ada Admin",
      email: `ada@${ws.slug}.test`,
      role: "manager",
    });
    const marie = await callApi<Member>(server, ws.key, "POST", "/v1/members", {
      name: "Marie Curie",
      email: `marie@${ws.slug}.test`,
    });
    const a = await signedInOnAudit(ws, ws.ownerEmail);
    const b = await signedInOnAudit(ws, `ada@${ws.slug}.test`);

    // What was there: newest first; the API key's creations name the owner and the key.
    const marieRow = b.page.locator("table.events tbody tr[data-type='member.created']", { hasText: "Marie Curie" });
    await marieRow.waitFor();
    expect(await marieRow.locator("td").nth(1).textContent()).toMatch(/^Olive Owner \(API key /);
    const shownSeqs = await eventRows(b.page).evaluateAll((rows) => rows.map((r) => Number(r.dataset.seq)));
    expect(shownSeqs).toEqual([...shownSeqs].sort((x, y) => y - x));

    // b keeps only member.* events; a adds a member through the UI (Members -> Add Member).
    await b.page.getByLabel("Event type").selectOption("member.*");
    await expect.poll(async () => (await types(b.page)).every((t) => t?.startsWith("member."))).toBe(true);
    await a.page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Members" }).click();
    await a.page.getByRole("button", { name: "Add Member" }).click();
    const add = a.page.getByRole("dialog", { name: "Add Member" });
    await add.getByLabel("Name").fill("Pierre Curie");
    await add.getByLabel("Email").fill(`pierre@${ws.slug}.test`);
    await add.getByRole("button", { name: "Add member" }).click();
    await add.waitFor({ state: "detached" });
    const pierreRow = eventRows(b.page).first();
    await withinASecond(
      b.page.locator("table.events tbody tr:first-child[data-type='member.created']", { hasText: "Pierre Curie" }),
    );
    expect(await pierreRow.locator("td").nth(1).textContent()).toBe("Olive Owner");
    expect(await b.page.getByLabel("Event type").inputValue()).toBe("member.*");

    // A label created elsewhere is no member event: b's filtered list stays as it is.
    await callApi(server, ws.key, "POST", "/v1/labels", { name: "Gold", slug: "gold" });
    await callApi(server, ws.key, "POST", `/v1/members/${marie.id}/labels`, { labels: ["gold"] });
    await withinASecond(b.page.locator("table.events tbody tr:first-child[data-type='member.labeled']"));
    expect(await types(b.page)).not.toContain("label.created");

    // The actor filter: only what members did (not the platform that made the workspace).
    await b.page.getByLabel("Done by").selectOption("member");
    await expect.poll(async () => eventRows(b.page).count()).toBeGreaterThan(0);
    await expect
      .poll(() => b.page.locator("table.events tbody td:nth-child(3)").allInnerTexts())
      .not.toContain("Platform");

    // The member filter through the URL (deep link), and the name links to the member's page.
    await b.page.goto(`${server.url}/audit?member=${marie.id}`);
    await b.page.getByRole("heading", { name: "Audit log" }).waitFor();
    await expect.poll(() => types(b.page)).toEqual(["member.labeled", "member.created"]);
    await a.page.goto(`${server.url}/audit`);
    await eventRows(a.page).first().waitFor();
    await screenshot(a.page, "audit");
    await b.page.getByRole("link", { name: "Marie Curie" }).first().click();
    await b.page.getByRole("heading", { name: "Marie Curie" }).waitFor();
    expect(new URL(b.page.url()).pathname).toBe(`/members/${marie.id}`);

    expect(a.errors).toEqual([]);
    expect(b.errors).toEqual([]);
  });

  it("keeps its rows still while an import of 1,000 members comes in, announces them, and shows them on request", async () => {
    const { server } = running;
    const ws = await createWorkspace(server);
    const { page, errors } = await signedInOnAudit(ws, ws.ownerEmail);
    await eventRows(page).first().waitFor();
    const before = await eventRows(page).count();

    const csv = Array.from({ length: 1000 }, (_, i) => `Bulk Person ${i},bulk${i}@${ws.slug}.test`).join("\n");
    const res = await fetch(`${server.url}/v1/imports?role=user`, {
      method: "POST",
      headers: { Authorization: `Bearer ${ws.key}`, "Content-Type": "text/csv" },
      body: `name,email\n${csv}\n`,
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    await waitFor(
      "the import to finish",
      async () => (await callApi<{ status: string }>(server, ws.key, "GET", `/v1/imports/${id}`)).status !== "running",
      60_000,
    );
    // 1,000 member.created plus the import's own events: all counted, none rendered one by one.
    const announcement = page.getByRole("button", { name: /^[\d,]+ new events: show$/ });
    await announcement.waitFor();
    // Those that joined the top while there was room, and the rest announced: every one of them.
    const seen = async () =>
      Number(((await announcement.textContent()) ?? "").replace(/\D/g, "")) + (await eventRows(page).count()) - before;
    await expect.poll(seen, { timeout: 10_000 }).toBeGreaterThanOrEqual(1000);
    expect(await eventRows(page).count()).toBeLessThanOrEqual(before + 50);

    await announcement.click();
    await announcement.waitFor({ state: "detached" });
    await expect
      .poll(async () => ((await eventRows(page).first().textContent()) ?? "").includes("Bulk Person"))
      .toBe(true);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("audit-title");
    // Older pages keep loading through short pages until the log's start.
    await page.getByRole("button", { name: "Load older" }).click();
    await expect.poll(async () => eventRows(page).count()).toBeGreaterThan(50);
    expect(errors).toEqual([]);
  });

  it("is reachable by keyboard and has no serious axe-core violations", async () => {
    const ws = await createWorkspace(running.server);
    const { page, errors } = await newPage(await running.browser.newContext());
    await signIn(page, running.server, ws, ws.ownerEmail);
    const link = page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Audit log" });
    for (let i = 0; i < 20 && !(await link.evaluate((el) => el === document.activeElement)); i++) {
      await page.keyboard.press("Tab");
    }
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Audit log" }).waitFor();
    await eventRows(page).first().waitFor();
    await page.getByLabel("Event type").focus();
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("audit-member");
    expect(await seriousViolations(page)).toEqual([]);
    expect(errors).toEqual([]);
  });
});
