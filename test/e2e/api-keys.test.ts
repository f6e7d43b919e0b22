import type { Page } from "playwright-core";
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
const keyRow = (page: Page, name: string) =>
  page.getByRole("row").filter({ has: page.getByRole("rowheader", { name }) });

/** Two signed-in admins of one workspace (the owner and a manager), each in its own browser context, on API keys. */
async function twoAdminsOnApiKeys(ws: TestWorkspace) {
  const { server, browser } = running;
  await callApi(server, ws.key, "POST", "/v1/members", {
    name: "Ada Admin",
    email: `ada@${ws.slug}.test`,
    role: "manager",
  });
  const pages = [];
  for (const email of [ws.ownerEmail, `ada@${ws.slug}.test`]) {
    const context = await browser.newContext();
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: server.url });
    const opened = await newPage(context);
    await signIn(opened.page, server, ws, email);
    await opened.page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "API keys" }).click();
    await opened.page.getByRole("heading", { name: "API keys" }).waitFor();
    pages.push(opened);
  }
  const [first, second] = pages as [(typeof pages)[0], (typeof pages)[0]];
  return { a: first.page, b: second.page, errors: [first.errors, second.errors] };
}

describe("the API keys screen in Chromium, live across browsers", () => {
  it("creates a key shown once with a copy button, which works, and revokes it; the other admin sees both within a second", async () => {
    const { server } = running;
    const ws = await createWorkspace(server);
    const { a, b, errors } = await twoAdminsOnApiKeys(ws);

    await a.getByRole("button", { name: "New API key" }).click();
    const create = a.getByRole("dialog", { name: "New API key" });
    // The boxes are the caller's own scopes, all ticked: an owner holds every one.
    await create.getByRole("checkbox", { name: "members:admin" }).waitFor();
    expect(await create.getByRole("checkbox").count()).toBe(21);
    // An expiry beyond a year is the API's field error, on the field.
    await create.getByLabel("Name").fill("CRM sync");
    await create.getByLabel("Expires in (days, 1 to 365)").fill("400");
    await create.getByRole("button", { name: "Create key" }).click();
    await expect.poll(() => create.getByLabel("Expires in (days, 1 to 365)").getAttribute("aria-invalid")).toBe("true");
    await create.getByLabel("Expires in (days, 1 to 365)").fill("30");
    // Only members:read: every other box unticked.
    for (const box of await create.getByRole("checkbox").all()) {
      if ((await box.getAttribute("value")) !== "members:read") await box.uncheck();
    }
    await create.getByRole("button", { name: "Create key" }).click();

    const shown = a.getByRole("dialog", { name: "API key CRM sync created" });
    const secret = await shown.getByRole("textbox", { name: "The new key" }).inputValue();
    expect(secret.length).toBeGreaterThan(20);
    await shown.getByRole("button", { name: "Copy the new key" }).click();
    await expect.poll(() => shown.locator("output").textContent()).toBe("Copied");
    expect(await a.evaluate(() => navigator.clipboard.readText())).toBe(secret);
    await screenshot(a, "api-key-created");

    // The key works, with what it was given and no more.
    const read = await fetch(`${server.url}/v1/members`, { headers: { Authorization: `Bearer ${secret}` } });
    expect(read.status).toBe(200);
    const write = await fetch(`${server.url}/v1/labels`, {
      method: "POST",
      headers: { Authorization: `Bearer ${secret}`, "Content-Type": "application/json" },
      body: JSON.stringify({ name: "Nope" }),
    });
    expect(write.status).toBe(403);

    await shown.getByRole("button", { name: "Done" }).click();
    await shown.waitFor({ state: "detached" });
    await withinASecond(keyRow(b, "CRM sync"));
    expect(await b.getByRole("list", { name: "Scopes of CRM sync" }).textContent()).toBe("members:read");
    // Listed with its expiry 30 days out, and never with the secret.
    const expires = await keyRow(b, "CRM sync").locator("time").nth(1).getAttribute("datetime");
    const days = (Date.parse(expires ?? "") - Date.now()) / 86_400_000;
    expect(Math.round(days)).toBe(30);
    expect(await b.content()).not.toContain(secret);
    await screenshot(a, "api-keys");

    // A key created by the other admin through the API shows here too.
    await callApi(server, ws.key, "POST", "/v1/api-keys", { name: "Nightly export", expiresInDays: 7 });
    await withinASecond(keyRow(a, "Nightly export"));

    await b.getByRole("button", { name: "Revoke API key CRM sync" }).click();
    const revoke = b.getByRole("dialog", { name: "Revoke API key CRM sync?" });
    await revoke.getByRole("button", { name: "Revoke key" }).click();
    await revoke.waitFor({ state: "detached" });
    await goneWithinASecond(keyRow(a, "CRM sync"));
    await expect.poll(() => b.locator("output.notice").textContent()).toBe("Revoked API key CRM sync.");
    const refused = await fetch(`${server.url}/v1/members`, { headers: { Authorization: `Bearer ${secret}` } });
    expect(refused.status).toBe(401);
    expect(errors.flat()).toEqual([]);
  });

  it("offers a narrower admin only their own scopes, and is usable from the keyboard with no axe violation", async () => {
    const { server, browser } = running;
    const ws = await createWorkspace(server);
    await callApi(server, ws.key, "POST", "/v1/roles", {
      key: "key_keeper",
      name: "Key keeper",
      type: "team",
      // What the admin view reads (members, labels, roles), and workspace:admin for keys.
      scopes: ["members:read", "labels:read", "roles:read", "workspace:admin"],
    });
    const email = `keeper@${ws.slug}.test`;
    await callApi(server, ws.key, "POST", "/v1/members", { name: "Kim Keeper", email, role: "key_keeper" });
    const { page, errors } = await newPage(await browser.newContext());
    await signIn(page, server, ws, email);
    await page.goto(`${server.url}/settings/api-keys`);
    await page.getByRole("heading", { name: "API keys" }).waitFor();
    expect(await seriousViolations(page)).toEqual([]);

    const opener = page.getByRole("button", { name: "New API key" });
    await opener.focus();
    await page.keyboard.press("Enter");
    const dialog = page.getByRole("dialog", { name: "New API key" });
    await dialog.getByRole("checkbox", { name: "workspace:admin" }).waitFor();
    const offered = await dialog
      .getByRole("checkbox")
      .evaluateAll((boxes) => boxes.map((b) => (b as HTMLInputElement).value));
    expect([...offered].sort()).toEqual([
      "labels:read",
      "members:read",
      "roles:read",
      "workspace:admin",
      "workspace:read",
      "workspace:write",
    ]);
    await expect.poll(() => dialog.getByLabel("Name").evaluate((el) => el === document.activeElement)).toBe(true);
    expect(await seriousViolations(page)).toEqual([]);

    // From the keyboard: the name, Tab to the first box and Space unticks it, back to the name and Enter sends.
    await page.keyboard.type("Keyboard key");
    await page.keyboard.press("Tab");
    await page.keyboard.press("Space");
    await page.keyboard.press("Shift+Tab");
    await page.keyboard.press("Enter");
    const shown = page.getByRole("dialog", { name: "API key Keyboard key created" });
    // Focus lands on the key, to copy it at once.
    await expect
      .poll(() => shown.getByRole("textbox", { name: "The new key" }).evaluate((el) => el === document.activeElement))
      .toBe(true);
    expect(await seriousViolations(page)).toEqual([]);
    await page.keyboard.press("Escape");
    await shown.waitFor({ state: "detached" });
    await expect.poll(() => opener.evaluate((el) => el === document.activeElement)).toBe(true);
    const keys = await callApi<{ data: { name: string; scopes: string[] }[] }>(server, ws.key, "GET", "/v1/api-keys");
    const made = keys.data.find((k) => k.name === "Keyboard key");
    expect(made?.scopes.sort()).toEqual(offered.slice(1).sort());
    await keyRow(page, "Keyboard key").waitFor();

    await page.getByRole("button", { name: "Revoke API key Keyboard key" }).focus();
    await page.keyboard.press("Enter");
    const confirm = page.getByRole("dialog", { name: "Revoke API key Keyboard key?" });
    await confirm.waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    await page.keyboard.press("Escape");
    await confirm.waitFor({ state: "detached" });
    await keyRow(page, "Keyboard key").waitFor();
    expect(errors.flat()).toEqual([]);
  });
});
