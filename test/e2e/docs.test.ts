import { describe, expect, it } from "vitest";
import { cspReports, newPage, serverAndBrowser } from "./browser";

const running = serverAndBrowser();

describe("the API reference at /docs", () => {
  it("renders the served document's operations from this origin alone, with no CSP violation", async () => {
    const { server, browser } = running;
    const { page, errors } = await newPage(await browser.newContext());
    const reports = cspReports(page);
    const elsewhere: string[] = [];
    page.on("request", (request) => {
      if (!request.url().startsWith(server.url) && !request.url().startsWith("data:")) elsewhere.push(request.url());
    });
    const res = await page.goto(`${server.url}/docs`);
    expect(res?.status()).toBe(200);
    await page.getByRole("heading", { name: "Live workspace members" }).waitFor({ timeout: 30_000 });
    // The sidebar's Members group opens on an operation named by its summary, its id shown.
    await page.getByText("Members", { exact: true }).first().click();
    await page.getByText("Add a member").first().click();
    await page.getByText("createMember").first().waitFor();
    expect(reports).toEqual([]);
    expect(errors).toEqual([]);
    expect(elsewhere).toEqual([]);
  });
});
