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
  smsFromStranger,
  type TestWorkspace,
  withinASecond,
} from "./browser";

const running = serverAndBrowser();

type Member = { id: string; name: string };

const field = (page: Page, name: string) => page.locator(`dd[data-field="${name}"]`);

/** Opens the member's page from their row on Members (the row's name links to it). */
async function openFromMembers(page: Page, name: string) {
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Members" }).click();
  await page
    .getByRole("row", { name: new RegExp(name) })
    .getByRole("link", { name })
    .click();
  await page.getByRole("heading", { level: 1, name }).waitFor();
}

async function signedIn(ws: TestWorkspace, email: string) {
  const { page, errors } = await newPage(await running.browser.newContext());
  await signIn(page, running.server, ws, email);
  return { page, errors };
}

describe("a member's page in Chromium", () => {
  it("shows the profile, conversation, activity and pending changes, and two admins see each other's changes within a second", async () => {
    const { server } = running;
    const ws = await createWorkspace(server);
    await callApi(server, ws.key, "POST", "/v1/members", {
      name: "Ada Admin",
      email: `ada@${ws.slug}.test`,
      role: "manager",
    });
    await callApi(server, ws.key, "POST", "/v1/labels", { name: "VIP", slug: "vip", color: "#dc2626" });
    const marie = await callApi<Member>(server, ws.key, "POST", "/v1/members", {
      name: "Marie Curie",
      email: `marie@${ws.slug}.test`,
      phone: "+14155550123",
      externalId: "crm-42",
      labels: ["vip"],
      attributes: { plan: "gold", seats: 3 },
    });
    const a = await signedIn(ws, ws.ownerEmail);
    const b = await signedIn(ws, `ada@${ws.slug}.test`);
    await openFromMembers(a.page, "Marie Curie");
    expect(new URL(a.page.url()).pathname).toBe(`/members/${marie.id}`);
    // Deep link: b opens the page by its URL.
    await b.page.goto(`${server.url}/members/${marie.id}`);
    await b.page.getByRole("heading", { level: 1, name: "Marie Curie" }).waitFor();

    expect(await field(b.page, "email").textContent()).toBe(`marie@${ws.slug}.test`);
    expect(await field(b.page, "phone").textContent()).toBe("+14155550123");
    expect(await field(b.page, "externalId").textContent()).toBe("crm-42");
    expect(await b.page.locator('dd[data-attribute="plan"]').textContent()).toBe("gold");
    expect(
      await field(b.page, "labels")
        .locator(".swatch")
        .evaluate((el) => getComputedStyle(el).backgroundColor),
    ).toBe("rgb(220, 38, 38)");
    await b.page.locator("table.events tbody tr[data-type='member.created']").waitFor();

    // a edits through the row menu's Edit dialog; b's profile and activity follow within a second.
    await a.page.getByRole("button", { name: "Actions for Marie Curie" }).click();
    await a.page.getByRole("menuitem", { name: "Edit" }).click();
    const edit = a.page.getByRole("dialog", { name: "Edit Marie Curie" });
    await edit.getByLabel("Name").fill("Marie Skłodowska-Curie");
    await edit.getByRole("button", { name: "Save" }).click();
    await edit.waitFor({ state: "detached" });
    await withinASecond(b.page.getByRole("heading", { level: 1, name: "Marie Skłodowska-Curie" }));
    await withinASecond(b.page.locator("table.events tbody tr:first-child[data-type='member.updated']"));
    expect(await b.page.locator("table.events tbody tr:first-child td").nth(1).textContent()).toBe("Olive Owner");

    // A text from her phone appears in both conversations as it arrives.
    await smsFromStranger(server, ws, "+14155550123", "Is my order on its way?");
    await withinASecond(b.page.locator(".conversation li", { hasText: "Is my order on its way?" }));
    await withinASecond(a.page.locator(".conversation li", { hasText: "Is my order on its way?" }));

    // b starts an email change: a sees it pending; a archives: b sees the status.
    await b.page.getByRole("button", { name: "Actions for Marie Skłodowska-Curie" }).click();
    await b.page.getByRole("menuitem", { name: "Change Email" }).click();
    const change = b.page.getByRole("dialog", { name: "Change Email for Marie Skłodowska-Curie" });
    await change.getByRole("textbox").first().fill(`marie.new@${ws.slug}.test`);
    await change.getByRole("button", { name: "Send confirmation link" }).click();
    await withinASecond(a.page.locator("[data-credential-change]", { hasText: `marie.new@${ws.slug}.test` }));
    await change.getByRole("button", { name: "Done" }).click();
    await change.waitFor({ state: "detached" });
    await screenshot(a.page, "member-page", { fullPage: true });
    await a.page.getByRole("button", { name: "Actions for Marie Skłodowska-Curie" }).click();
    await a.page.getByRole("menuitem", { name: "Archive" }).click();
    await withinASecond(b.page.locator('dd[data-field="status"]', { hasText: "archived" }));

    expect(a.errors).toEqual([]);
    expect(b.errors).toEqual([]);
  });

  it("lists a pending invitation, says when a member does not exist, and is keyboard reachable without serious axe-core violations", async () => {
    const { server } = running;
    const ws = await createWorkspace(server);
    const invited = await callApi<{ memberId: string }>(server, ws.key, "POST", "/v1/invitations", {
      email: `pierre@${ws.slug}.test`,
      role: "manager",
      name: "Pierre Curie",
    });
    const irene = await callApi<Member>(server, ws.key, "POST", "/v1/members", {
      name: "Irène Curie",
      email: `irene@${ws.slug}.test`,
    });
    const { page, errors } = await signedIn(ws, ws.ownerEmail);
    // By keyboard: Tab to the row's link and follow it.
    const link = page.getByRole("link", { name: "Irène Curie" });
    await link.waitFor();
    for (let i = 0; i < 40 && !(await link.evaluate((el) => el === document.activeElement)); i++) {
      await page.keyboard.press("Tab");
    }
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { level: 1, name: "Irène Curie" }).waitFor();
    expect(new URL(page.url()).pathname).toBe(`/members/${irene.id}`);
    await page.locator("table.events tbody tr").first().waitFor();
    expect(await seriousViolations(page)).toEqual([]);

    // An invited member's page lists the invitation still pending.
    await page.goto(`${server.url}/members/${invited.memberId}`);
    await page.getByRole("heading", { level: 1, name: "Pierre Curie" }).waitFor();
    await page.locator("[data-invitation]", { hasText: `pierre@${ws.slug}.test` }).waitFor();
    await page.locator("table.events tbody tr").first().waitFor();
    expect(await seriousViolations(page)).toEqual([]);

    await page.goto(`${server.url}/members/mem_doesnotexist0000`);
    await page.getByRole("alert").filter({ hasText: "No such member." }).waitFor();
    expect(errors).toEqual([]);
  });
});
