import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
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
const TOKEN = "0123456789abcdef0123456789abcdef";

async function openSms(page: Page) {
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "SMS" }).click();
  await page.getByRole("heading", { name: "SMS", exact: true }).waitFor();
  await page.getByRole("button", { name: "Save SMS settings" }).waitFor();
}

/** Two signed-in admins of one workspace (the owner and a manager), each in its own browser context, on SMS. */
async function twoAdminsOnSms(ws: TestWorkspace) {
  const { server, browser } = running;
  await callApi(server, ws.key, "POST", "/v1/members", {
    name: "Ada Admin",
    email: `ada@${ws.slug}.test`,
    role: "manager",
  });
  const opened = [];
  for (const email of [ws.ownerEmail, `ada@${ws.slug}.test`]) {
    const context = await browser.newContext();
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: server.url });
    const one = await newPage(context);
    await signIn(one.page, server, ws, email);
    await openSms(one.page);
    opened.push(one);
  }
  const [a, b] = opened as [(typeof opened)[0], (typeof opened)[0]];
  return { a: a.page, b: b.page, errors: [a.errors, b.errors] };
}

describe("the SMS settings screen in Chromium, live across browsers", () => {
  it("saves the Twilio account with a write-only token, and the other admin's form shows it within a second", async () => {
    const { server } = running;
    const ws = await createWorkspace(server);
    const { a, b, errors } = await twoAdminsOnSms(ws);
    await a.getByText("No SMS provider is configured yet").waitFor();

    // The webhook URLs are absolute, of this server, with copy buttons that copy them.
    const smsUrl = `${server.url}/webhooks/twilio/${ws.id}/sms`;
    await a.getByText(smsUrl, { exact: true }).waitFor();
    await a.getByText(`${server.url}/webhooks/twilio/${ws.id}/voice`, { exact: true }).waitFor();
    await a.getByRole("button", { name: "Copy the SMS webhook URL" }).click();
    await expect.poll(() => a.locator(".webhooks output").first().textContent()).toBe("Copied");
    expect(await a.evaluate(() => navigator.clipboard.readText())).toBe(smsUrl);

    // A bad number is the API's error, on the Numbers field; nothing is saved.
    await a.getByLabel("Account SID").fill("AC0123456789abcdef");
    await a.getByLabel("Auth token").fill(TOKEN);
    await a.getByLabel("Numbers").fill("+1 415 555 0100\nnot a number");
    await a.getByRole("button", { name: "Save SMS settings" }).click();
    await expect.poll(() => a.getByLabel("Numbers").getAttribute("aria-invalid")).toBe("true");
    await a.getByLabel("Numbers").fill("+1 415 555 0100\n+44 20 7946 0958");
    await a.getByLabel("Anonymous members expire after (days)").fill("30");
    await a.getByRole("button", { name: "Save SMS settings" }).click();
    await expect.poll(() => a.locator("output.notice").textContent()).toBe("Saved the SMS settings.");

    // The token field is empty again and says the token is set, never showing it.
    expect(await a.getByLabel("Auth token").inputValue()).toBe("");
    await expect.poll(() => a.locator("form").textContent()).toContain("set, ending in cdef");
    expect(await a.content()).not.toContain(TOKEN);

    // The other admin's form follows.
    await withinASecond(b.getByText("set, ending in cdef"));
    expect(await b.getByLabel("Account SID").inputValue()).toBe("AC0123456789abcdef");
    expect(await b.getByLabel("Numbers").inputValue()).toBe("+14155550100\n+442079460958");
    expect(await b.getByLabel("Anonymous members expire after (days)").inputValue()).toBe("30");
    await screenshot(b, "sms-settings", { fullPage: true });

    // The second admin changes the numbers only: the token is kept, and the first admin sees the change.
    await b.getByLabel("Numbers").fill("+1 415 555 0199");
    await b.getByRole("button", { name: "Save SMS settings" }).click();
    await expect.poll(() => b.locator("output.notice").textContent()).toBe("Saved the SMS settings.");
    await expect.poll(() => a.getByLabel("Numbers").inputValue(), { timeout: 1_000 }).toBe("+14155550199");
    const saved = await callApi<{ numbers: string[]; authTokenLast4: string }>(
      server,
      ws.key,
      "GET",
      "/v1/settings/sms",
    );
    expect(saved).toMatchObject({ numbers: ["+14155550199"], authTokenLast4: "cdef" });

    // Unsaved edits are kept when another admin saves, and the admin is told.
    await a.getByLabel("Account SID").fill("AC_mine_unsaved");
    await callApi(server, ws.key, "PUT", "/v1/settings/sms", {
      provider: "twilio",
      accountSid: "AC0123456789abcdef",
      numbers: ["+14155550123"],
    });
    await expect.poll(() => a.locator("output.notice").textContent()).toContain("your unsaved edits are kept");
    expect(await a.getByLabel("Account SID").inputValue()).toBe("AC_mine_unsaved");
    await expect.poll(() => b.getByLabel("Numbers").inputValue()).toBe("+14155550123");
    expect(errors.flat()).toEqual([]);
  });

  it("is usable from the keyboard with labelled controls and no axe violation", async () => {
    const { server, browser } = running;
    const ws = await createWorkspace(server);
    const { page, errors } = await newPage(await browser.newContext());
    await signIn(page, server, ws, ws.ownerEmail);
    await openSms(page);
    expect(await seriousViolations(page)).toEqual([]);

    await page.getByLabel("Account SID").focus();
    await page.keyboard.type("AC0123456789abcdef");
    await page.keyboard.press("Tab");
    await page.keyboard.type(TOKEN);
    await page.keyboard.press("Tab");
    await page.keyboard.type("+14155550100");
    await page.keyboard.press("Tab");
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Save SMS settings");
    await page.keyboard.press("Enter");
    await expect.poll(() => page.locator("output.notice").textContent()).toBe("Saved the SMS settings.");
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.getAttribute("aria-label"))).toBe(
      "Copy the SMS webhook URL",
    );
    expect(await seriousViolations(page)).toEqual([]);
    const saved = await callApi<{ numbers: string[] }>(server, ws.key, "GET", "/v1/settings/sms");
    expect(saved.numbers).toEqual(["+14155550100"]);
    expect(errors.flat()).toEqual([]);
  });
});
