import { readFile } from "node:fs/promises";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { callApi, createWorkspace, newPage, seriousViolations, serverAndBrowser, signIn } from "./browser";

const running = serverAndBrowser();

/** Clicks Export CSV and reads the file the browser downloads: its name and its lines. */
async function exportCsv(page: Page) {
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("button", { name: "Export CSV" }).click(),
  ]);
  const path = await download.path();
  const text = await readFile(path, "utf8");
  return { name: download.suggestedFilename(), lines: text.trim().split(/\r?\n/) };
}

const emailsOf = (lines: string[]) =>
  lines
    .slice(1)
    .map((line) => line.split(",")[0])
    .sort();

describe("Export on the Members page, in Chromium", () => {
  it("downloads the CSV of the page's filters, with a member the other admin just added", async () => {
    const { server, browser } = running;
    const ws = await createWorkspace(server);
    const d = (name: string) => `${name}@${ws.slug}.test`;
    await callApi(server, ws.key, "POST", "/v1/labels", { name: "VIP" });
    await callApi(server, ws.key, "POST", "/v1/members", { name: "Ada Admin", email: d("ada"), role: "manager" });
    await callApi(server, ws.key, "POST", "/v1/members", { name: "Marie Curie", email: d("marie"), labels: ["vip"] });
    await callApi(server, ws.key, "POST", "/v1/members", { name: "Pierre Curie", email: d("pierre") });
    await callApi(server, ws.key, "POST", "/v1/members", {
      name: "Irene Curie",
      email: d("irene"),
      labels: ["vip"],
      role: "manager",
    });
    const first = await newPage(await browser.newContext({ acceptDownloads: true }));
    const second = await newPage(await browser.newContext());
    const [a, b] = [first.page, second.page];
    await signIn(a, server, ws, ws.ownerEmail);
    await signIn(b, server, ws, d("ada"));

    // Every active member, in the import's columns.
    const all = await exportCsv(a);
    expect(all.name).toMatch(/^members-\d{4}-\d{2}-\d{2}\.csv$/);
    expect(all.lines[0]?.startsWith("email,phone,external_id,name,description,labels,role")).toBe(true);
    expect(emailsOf(all.lines)).toEqual([d("ada"), d("irene"), d("marie"), ws.ownerEmail, d("pierre")].sort());
    await expect.poll(() => a.locator("output.notice").first().textContent()).toContain("Downloaded members-");

    // The label filter and the search narrow the file as they narrow the list.
    await a.getByLabel("Label", { exact: true }).selectOption({ label: "VIP" });
    await a.getByRole("row", { name: /Pierre Curie/ }).waitFor({ state: "detached" });
    expect(emailsOf((await exportCsv(a)).lines)).toEqual([d("irene"), d("marie")]);
    await a.getByLabel("Role", { exact: true }).selectOption({ label: "Manager" });
    await a.getByRole("row", { name: /Marie Curie/ }).waitFor({ state: "detached" });
    expect(emailsOf((await exportCsv(a)).lines)).toEqual([d("irene")]);
    await a.getByLabel("Role", { exact: true }).selectOption({ index: 0 });

    // The other admin adds a VIP in their browser; it is in the next file at once.
    await b.getByRole("button", { name: "Add Member" }).click();
    const add = b.getByRole("dialog", { name: "Add Member" });
    await add.getByLabel("Name").fill("Eve Curie");
    await add.getByLabel("Email").fill(d("eve"));
    await add.getByLabel("Labels").fill("vip");
    await add.getByRole("button", { name: "Add member" }).click();
    await add.waitFor({ state: "detached" });
    await a.getByRole("row", { name: /Eve Curie/ }).waitFor();
    expect(emailsOf((await exportCsv(a)).lines)).toEqual([d("eve"), d("irene"), d("marie")]);

    // The search box too; and the button is reached from the keyboard, with no axe violation.
    await a.getByLabel("Search").fill("marie");
    await a.getByRole("row", { name: /Eve Curie/ }).waitFor({ state: "detached" });
    await a.getByRole("button", { name: "Import" }).focus();
    await a.keyboard.press("Tab");
    expect(await a.evaluate(() => document.activeElement?.textContent)).toBe("Export CSV");
    const [download] = await Promise.all([a.waitForEvent("download"), a.keyboard.press("Enter")]);
    const text = await readFile(await download.path(), "utf8");
    expect(emailsOf(text.trim().split(/\r?\n/))).toEqual([d("marie")]);
    expect(await seriousViolations(a)).toEqual([]);
    expect([...first.errors, ...second.errors]).toEqual([]);
  });
});
