import type { Locator, Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import {
  callApi,
  createWorkspace,
  goneWithinASecond,
  newPage,
  screenshot,
  seriousViolations,
  serverAndBrowser,
  signIn,
  type TestWorkspace,
  withinASecond,
} from "./browser";

const running = serverAndBrowser();
const labelRow = (page: Page, slug: string) => page.locator(`tr[data-label="${slug}"]`);
/** Label, slug, description and members, as the row shows them. */
const cells = async (row: Locator) =>
  (await row.locator("th, td").allInnerTexts()).slice(0, 4).map((text) => text.trim());
const swatchColor = (row: Locator) =>
  row
    .locator(".swatch")
    .first()
    .evaluate((el) => getComputedStyle(el).backgroundColor);

/** Two signed-in admins of one workspace, each in its own browser context, both on Labels. */
async function twoAdminsOnLabels(ws: TestWorkspace) {
  const { server, browser } = running;
  await callApi(server, ws.key, "POST", "/v1/members", {
    name: "Ada Admin",
    email: `ada@${ws.slug}.test`,
    role: "manager",
  });
  const first = await newPage(await browser.newContext());
  const second = await newPage(await browser.newContext());
  await signIn(first.page, server, ws, ws.ownerEmail);
  await signIn(second.page, server, ws, `ada@${ws.slug}.test`);
  for (const page of [first.page, second.page]) {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Labels" }).click();
    await page.getByRole("heading", { name: "Labels" }).waitFor();
  }
  return { a: first.page, b: second.page, errors: [first.errors, second.errors] };
}

describe("the Labels screen in Chromium, live across browsers", () => {
  it("creates, edits and deletes a label, each change showing in the other admin's list within a second", async () => {
    const { server } = running;
    const ws = await createWorkspace(server);
    const { a, b, errors } = await twoAdminsOnLabels(ws);

    // Create: the API's field error lands on the field, then a valid label goes in.
    await a.getByRole("button", { name: "New label" }).click();
    const create = a.getByRole("dialog", { name: "New label" });
    await create.getByRole("button", { name: "Create label" }).click();
    await expect.poll(() => create.getByLabel("Name").getAttribute("aria-invalid")).toBe("true");
    await create.getByLabel("Name").fill("VIP");
    await create.getByLabel("Color").fill("#dc2626");
    await create.getByLabel("Description").fill("Our best customers");
    await create.getByRole("button", { name: "Create label" }).click();
    await create.waitFor({ state: "detached" });
    await labelRow(a, "vip").waitFor();
    await withinASecond(labelRow(b, "vip"));
    expect(await cells(labelRow(b, "vip"))).toEqual(["VIP", "vip", "Our best customers", "0"]);
    expect(await swatchColor(labelRow(b, "vip"))).toBe("rgb(220, 38, 38)");

    // Members who take the label count in both lists, as their events arrive.
    for (const name of ["Marie", "Pierre"]) {
      const email = `${name.toLowerCase()}@${ws.slug}.test`;
      await callApi(server, ws.key, "POST", "/v1/members", { name: `${name} Curie`, email, labels: ["vip"] });
    }
    await expect.poll(async () => (await cells(labelRow(b, "vip")))[3]).toBe("2");
    await expect.poll(async () => (await cells(labelRow(a, "vip")))[3]).toBe("2");
    await screenshot(a, "labels");

    // Edit: name, color and description; the slug stays.
    await a.getByRole("button", { name: "Edit label VIP" }).click();
    const edit = a.getByRole("dialog", { name: "Edit label VIP" });
    expect(await edit.getByLabel("Color").inputValue()).toBe("#dc2626");
    await edit.getByLabel("Name").fill("Very Important");
    await edit.getByLabel("Color").fill("#2563eb");
    await edit.getByLabel("Description").fill("");
    await edit.getByRole("button", { name: "Save" }).click();
    await edit.waitFor({ state: "detached" });
    await withinASecond(b.getByRole("rowheader", { name: "Very Important" }));
    expect(await cells(labelRow(b, "vip"))).toEqual(["Very Important", "vip", "—", "2"]);
    expect(await swatchColor(labelRow(b, "vip"))).toBe("rgb(37, 99, 235)");

    // The Members page's chips and label filter wear the label's color.
    await b.getByRole("link", { name: "Members" }).click();
    const chip = b.getByRole("list", { name: "Labels of Marie Curie" }).getByRole("listitem");
    expect(await swatchColor(chip)).toBe("rgb(37, 99, 235)");
    await b.getByLabel("Label", { exact: true }).selectOption({ label: "Very Important" });
    expect(await swatchColor(b.locator(".filter-label"))).toBe("rgb(37, 99, 235)");
    await b.getByRole("link", { name: "Labels" }).click();

    // Delete: the confirmation says how many members lose it.
    await a.getByRole("button", { name: "Delete label Very Important" }).click();
    const remove = a.getByRole("dialog", { name: "Delete label Very Important?" });
    await expect.poll(() => remove.textContent()).toContain("It will be removed from 2 members.");
    await remove.getByRole("button", { name: "Delete label" }).click();
    await remove.waitFor({ state: "detached" });
    await goneWithinASecond(labelRow(b, "vip"));
    await labelRow(a, "vip").waitFor({ state: "detached" });
    await expect.poll(() => a.locator("output.notice").textContent()).toContain("Deleted label Very Important");
    const members = await callApi<{ data: { labels: string[] }[] }>(server, ws.key, "GET", "/v1/members?limit=100");
    expect(members.data.flatMap((m) => m.labels)).toEqual([]);

    expect(errors.flat()).toEqual([]);
  });

  it("shows a label another admin creates through the API, and a duplicate name's error in the dialog", async () => {
    const { server } = running;
    const ws = await createWorkspace(server);
    const { a, errors } = await twoAdminsOnLabels(ws);
    await callApi(server, ws.key, "POST", "/v1/labels", { name: "Gold", color: "#ca8a04" });
    await withinASecond(labelRow(a, "gold"));

    await a.getByRole("button", { name: "New label" }).click();
    const create = a.getByRole("dialog", { name: "New label" });
    await create.getByLabel("Name").fill("Gold");
    await create.getByRole("button", { name: "Create label" }).click();
    await expect.poll(() => create.getByRole("alert").textContent()).toContain("exists");
    expect(await a.locator("tr[data-label]").count()).toBe(1);
    expect(errors.flat()).toEqual([]);
  });

  it("is usable from the keyboard: the dialog takes focus, keeps Tab within it, and Escape returns focus", async () => {
    const { server } = running;
    const ws = await createWorkspace(server);
    await callApi(server, ws.key, "POST", "/v1/labels", { name: "Gold", color: "#ca8a04" });
    const { a: page, errors } = await twoAdminsOnLabels(ws);
    await labelRow(page, "gold").waitFor();
    expect(await seriousViolations(page)).toEqual([]);

    const opener = page.getByRole("button", { name: "New label" });
    await opener.focus();
    await page.keyboard.press("Enter");
    const dialog = page.getByRole("dialog", { name: "New label" });
    await dialog.waitFor();
    await expect.poll(() => dialog.getByLabel("Name").evaluate((el) => el === document.activeElement)).toBe(true);
    expect(await seriousViolations(page)).toEqual([]);

    // Name, Color, Description, Create label, Close: Tab goes round them and never leaves the dialog.
    const focused = () =>
      page.evaluate(() => document.activeElement?.getAttribute("name") ?? document.activeElement?.textContent);
    const seen: (string | null | undefined)[] = [];
    for (let i = 0; i < 6; i++) {
      await page.keyboard.press("Tab");
      expect(await dialog.evaluate((el) => el.contains(document.activeElement))).toBe(true);
      seen.push(await focused());
    }
    expect(seen).toEqual(["color", "description", "Create label", "×", "name", "color"]);
    await page.keyboard.press("Shift+Tab");
    await page.keyboard.press("Shift+Tab");
    expect(await focused()).toBe("×");

    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "detached" });
    await expect.poll(() => opener.evaluate((el) => el === document.activeElement)).toBe(true);

    // The delete confirmation too.
    await page.getByRole("button", { name: "Delete label Gold" }).focus();
    await page.keyboard.press("Enter");
    const confirm = page.getByRole("dialog", { name: "Delete label Gold?" });
    await expect.poll(() => confirm.textContent()).toContain("No member holds it.");
    expect(await seriousViolations(page)).toEqual([]);
    await page.keyboard.press("Escape");
    await confirm.waitFor({ state: "detached" });
    await expect
      .poll(() => page.evaluate(() => document.activeElement?.getAttribute("aria-label")))
      .toBe("Delete label Gold");
    await labelRow(page, "gold").waitFor();
    expect(errors.flat()).toEqual([]);
  });
});
