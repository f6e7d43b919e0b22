import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevServer, startDevServer } from "../integration/dev-server";
import {
  callApi,
  createWorkspace,
  goneWithinASecond,
  launchBrowser,
  linkFromOutbox,
  live,
  newPage,
  screenshot,
  seriousViolations,
  signIn,
  smsFromStranger,
  type TestWorkspace,
  withinASecond,
} from "./browser";

let server: DevServer;
let browser: Browser;

beforeAll(async () => {
  [server, browser] = await Promise.all([startDevServer(), launchBrowser()]);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

const row = (page: Page, name: string) => page.getByRole("row", { name: new RegExp(name) });

/** Two signed-in admins of one workspace, each in its own browser context (own cookies). */
async function twoAdmins(ws: TestWorkspace) {
  await callApi(server, ws.key, "POST", "/v1/members", {
    name: "Ada Admin",
    email: `ada@${ws.slug}.test`,
    role: "manager",
  });
  const first = await newPage(await browser.newContext());
  const second = await newPage(await browser.newContext());
  await signIn(first.page, server, ws, ws.ownerEmail);
  await signIn(second.page, server, ws, `ada@${ws.slug}.test`);
  return { a: first.page, b: second.page, errors: [first.errors, second.errors] };
}

async function rowAction(page: Page, name: string, action: string) {
  await page.getByRole("button", { name: `Actions for ${name}` }).click();
  await page.getByRole("menuitem", { name: action }).click();
}

describe("the admin view in Chromium, live across browsers", () => {
  it("shows what one admin adds, edits, relabels, re-emails and archives in the other admin's list within a second", async () => {
    const ws = await createWorkspace(server);
    const { a, b, errors } = await twoAdmins(ws);

    // Add: the API's field errors land on the field, then a valid member goes in.
    await a.getByRole("button", { name: "Add Member" }).click();
    const dialog = a.getByRole("dialog", { name: "Add Member" });
    await dialog.getByLabel("Name").fill("Marie Curie");
    await dialog.getByLabel("Email").fill("not-an-email");
    await dialog.getByRole("button", { name: "Add member" }).click();
    await expect.poll(() => dialog.getByLabel("Email").getAttribute("aria-invalid")).toBe("true");
    await dialog.getByLabel("Email").fill(`marie@${ws.slug}.test`);
    await dialog.getByLabel("Labels").fill("vip, physics");
    await dialog.getByRole("button", { name: "Add member" }).click();
    await dialog.waitFor({ state: "detached" });
    await row(a, "Marie Curie").waitFor();
    await screenshot(a, "members");
    await withinASecond(row(b, "Marie Curie"));
    const chips = row(b, "Marie Curie").getByRole("list", { name: "Labels of Marie Curie" }).getByRole("listitem");
    expect((await chips.allTextContents()).map((chip) => chip.replace("×", ""))).toEqual(["physics", "vip"]);

    // A label removed from its chip in one browser leaves the other's row.
    await b.getByRole("button", { name: "Remove label physics from Marie Curie" }).click();
    await goneWithinASecond(a.getByRole("button", { name: "Remove label physics from Marie Curie" }));

    // Edit: the other admin's row changes in place.
    await rowAction(a, "Marie Curie", "Edit");
    const edit = a.getByRole("dialog", { name: "Edit Marie Curie" });
    await edit.getByLabel("Name").fill("Marie Skłodowska-Curie");
    await edit.getByRole("button", { name: "Save" }).click();
    await row(a, "Marie Skłodowska-Curie").waitFor();
    await withinASecond(row(b, "Marie Skłodowska-Curie"));

    // Change Email: nothing changes until the member confirms by the link sent to the current address.
    await rowAction(a, "Marie Skłodowska-Curie", "Change Email");
    const change = a.getByRole("dialog", { name: "Change Email for Marie Skłodowska-Curie" });
    await change.getByLabel("New email").fill(`marie.curie@${ws.slug}.test`);
    await change.getByRole("button", { name: "Send confirmation link" }).click();
    await change.getByText("A confirmation link went to").waitFor();
    await change.getByRole("button", { name: "Done" }).click();
    const marie = await newPage(await browser.newContext());
    await marie.page.goto(await linkFromOutbox(server, ws, `marie@${ws.slug}.test`, "/credential-change#token="));
    await marie.page.getByRole("button", { name: "Confirm" }).click();
    await marie.page.getByRole("heading", { name: "Change confirmed" }).waitFor();
    await withinASecond(row(b, `marie.curie@${ws.slug}.test`));

    // Archive: the row leaves the other admin's Members tab and is under Archived.
    await rowAction(a, "Marie Skłodowska-Curie", "Archive");
    await goneWithinASecond(row(a, "Marie Skłodowska-Curie"));
    await goneWithinASecond(row(b, "Marie Skłodowska-Curie"));
    await b.getByRole("tab", { name: "Archived" }).click();
    await row(b, "Marie Skłodowska-Curie").waitFor();

    // ...and unarchiving there brings it back to the first admin's Members tab.
    await rowAction(b, "Marie Skłodowska-Curie", "Unarchive");
    await withinASecond(row(a, "Marie Skłodowska-Curie"));
    expect([...errors.flat(), ...marie.errors]).toEqual([]);
  });

  it("changes an email only when the member presses Confirm: a link scanner that opens the link changes nothing", async () => {
    const ws = await createWorkspace(server);
    const [before, after] = [`rosalind@${ws.slug}.test`, `r.franklin@${ws.slug}.test`];
    const member = await callApi<{ id: string }>(server, ws.key, "POST", "/v1/members", {
      name: "Rosalind Franklin",
      email: before,
    });
    await callApi(server, ws.key, "POST", `/v1/members/${member.id}/credential-changes`, {
      kind: "email",
      value: after,
    });
    const link = await linkFromOutbox(server, ws, before, "/credential-change#token=");
    const emailNow = async () =>
      (await callApi<{ email: string }>(server, ws.key, "GET", `/v1/members/${member.id}`)).email;

    // A scanner runs the page's JavaScript and waits until it has nothing left to load.
    const scanner = await newPage(await browser.newContext());
    await scanner.page.goto(link);
    await scanner.page.getByRole("heading", { name: "Confirm your new email address" }).waitFor();
    await scanner.page.waitForLoadState("networkidle");
    expect(await emailNow()).toBe(before);
    await scanner.page.context().close();

    // The member opens the same link, sees the old and the new address, and confirms.
    const { page, errors } = await newPage(await browser.newContext());
    await page.goto(link);
    await page.getByRole("heading", { name: "Confirm your new email address" }).waitFor();
    const summary = page.locator(".change-summary");
    expect(await summary.getByText(before).isVisible()).toBe(true);
    expect(await summary.getByText(after).isVisible()).toBe(true);
    expect(await seriousViolations(page)).toEqual([]);
    expect(await emailNow()).toBe(before);
    await page.getByRole("button", { name: "Confirm" }).click();
    await page.getByRole("heading", { name: "Change confirmed" }).waitFor();
    expect(await emailNow()).toBe(after);

    // The old address is told, without a link.
    const sent = await callApi<{ data: { text: string }[] }>(
      server,
      ws.key,
      "GET",
      `/v1/outbox?to=${encodeURIComponent(before)}`,
    );
    expect(sent.data[0]?.text).toContain(after);
    expect(sent.data[0]?.text).not.toMatch(/https?:|#token=/);
    expect([...errors, ...scanner.errors]).toEqual([]);
  });

  it("shows a resolve in the other admin's Anonymous tab, and an import's progress bar to completion", async () => {
    const ws = await createWorkspace(server);
    await callApi(server, ws.key, "POST", "/v1/members", { name: "Carla Customer", email: `carla@${ws.slug}.test` });
    await callApi(server, ws.key, "POST", "/v1/invitations", { name: "Ivy Invitee", email: `ivy@${ws.slug}.test` });
    await smsFromStranger(server, ws, "+14155550177", "Is my order shipped?");
    const { a, b, errors } = await twoAdmins(ws);
    for (const page of [a, b]) await page.getByRole("tab", { name: "Anonymous" }).click();
    const stranger = (page: Page) => page.getByRole("row").filter({ hasText: "+14155550177" });
    await stranger(b).waitFor();
    const name = (await stranger(a).getByRole("rowheader").textContent())?.replace(/(Team|Customer)$/, "") ?? "";

    await rowAction(a, name, "Resolve");
    const dialog = a.getByRole("dialog", { name: `Resolve ${name}` });
    // Someone invited who has not joined yet may receive the history too.
    await dialog.getByLabel("Find the member").fill("ivy");
    await dialog.getByRole("radio", { name: /Ivy Invitee/ }).waitFor();
    await dialog.getByLabel("Find the member").fill("carla");
    await dialog.getByRole("radio", { name: /Carla Customer/ }).check();
    await dialog.getByText("1 message").waitFor();
    await screenshot(a, "resolve");
    await dialog.getByRole("button", { name: "Resolve" }).click();
    await dialog.waitFor({ state: "detached" });
    await goneWithinASecond(stranger(b));

    // Import: three rows, one of them bad; the bar reaches the end and the report names the bad row.
    for (const page of [a, b]) await page.getByRole("tab", { name: "Members" }).click();
    await a.getByRole("button", { name: "Import" }).click();
    const importing = a.getByRole("dialog", { name: "Import Members" });
    await importing.getByLabel("CSV file").setInputFiles({
      name: "members.csv",
      mimeType: "text/csv",
      buffer: Buffer.from(
        `name,email\nIda Import,ida@${ws.slug}.test\nIvo Import,ivo@${ws.slug}.test\nBad Row,not-an-email\n`,
      ),
    });
    await importing.getByRole("button", { name: "Import" }).click();
    await importing.getByText("Import complete").waitFor({ timeout: 30_000 });
    expect(await importing.locator("progress").getAttribute("value")).toBe("100");
    await importing.getByText("2 created, 0 updated, 1 failed.").waitFor();
    await importing.getByRole("table", { name: "Rows that failed" }).getByText("not-an-email").waitFor();
    await screenshot(a, "import");
    await importing.getByRole("button", { name: "Done" }).click();
    await row(b, "Ida Import").waitFor();
    expect(errors.flat()).toEqual([]);
  });

  it("shows a visitor's join request live in Settings -> Invitations, and approving it sends an invitation", async () => {
    const ws = await createWorkspace(server);
    const admin = await newPage(await browser.newContext());
    await signIn(admin.page, server, ws, ws.ownerEmail);

    // Invite Member, then resend from the invited member's action menu.
    await admin.page.getByRole("button", { name: "Invite Member" }).click();
    const invite = admin.page.getByRole("dialog", { name: "Invite Member" });
    await invite.getByLabel("Email").fill(`ivan@${ws.slug}.test`);
    await invite.getByLabel("Name").fill("Ivan Invitee");
    await invite.getByRole("button", { name: "Send invitation" }).click();
    await invite.waitFor({ state: "detached" });
    await admin.page.getByLabel("Status", { exact: true }).selectOption("invited");
    await rowAction(admin.page, "Ivan Invitee", "Resend invitation");
    await admin.page.getByText(`A new invitation is on its way to ivan@${ws.slug}.test.`).waitFor();

    await admin.page.getByRole("link", { name: "Invitations" }).click();
    await admin.page.getByRole("heading", { name: "Invitations", level: 1 }).waitFor();
    await admin.page.getByText("No pending join requests.").waitFor();

    const visitor = await newPage(await browser.newContext());
    await visitor.page.goto(`${server.url}/join/${ws.slug}`);
    await visitor.page.getByLabel("Name").fill("Vera Visitor");
    await visitor.page.getByLabel("Email").fill(`vera@${ws.slug}.test`);
    await visitor.page.getByLabel("Message").fill("I run the night shift.");
    await screenshot(visitor.page, "join");
    await visitor.page.getByRole("button", { name: "Send request" }).click();
    await visitor.page.getByRole("heading", { name: "Request sent" }).waitFor();

    const card = admin.page.getByRole("listitem").filter({ hasText: "Vera Visitor" });
    await withinASecond(card);
    await screenshot(admin.page, "invitations");
    await card.getByLabel("Role for Vera Visitor").selectOption("manager");
    await card.getByRole("button", { name: "Approve Vera Visitor" }).click();
    await card.waitFor({ state: "detached" });
    await row(admin.page, `vera@${ws.slug}.test`).waitFor();

    // The invitation went out; its link signs the visitor in as a new member.
    const link = await linkFromOutbox(server, ws, `vera@${ws.slug}.test`, "/join#token=");
    await visitor.page.goto(link);
    await visitor.page.getByRole("heading", { name: "Welcome, Vera Visitor" }).waitFor();
    await goneWithinASecond(row(admin.page, `vera@${ws.slug}.test`));
    await row(admin.page, `ivan@${ws.slug}.test`).waitFor();
    expect([...admin.errors, ...visitor.errors]).toEqual([]);
  });

  it("pages Settings -> Invitations past its first 100 pending invitations", async () => {
    const ws = await createWorkspace(server);
    // One after another: invitations list newest first, so p100 leads and p0 is on the second page.
    for (let i = 0; i <= 100; i++)
      await callApi(server, ws.key, "POST", "/v1/invitations", { email: `p${i}@${ws.slug}.test` });
    const admin = await newPage(await browser.newContext());
    await signIn(admin.page, server, ws, ws.ownerEmail);
    await admin.page.getByRole("link", { name: "Invitations" }).click();
    await row(admin.page, `p100@${ws.slug}.test`).waitFor();
    expect(await row(admin.page, `p0@${ws.slug}.test`).count()).toBe(0);
    await admin.page.getByRole("button", { name: "More invitations" }).click();
    await row(admin.page, `p0@${ws.slug}.test`).waitFor();
    await admin.page.getByRole("button", { name: "More invitations" }).waitFor({ state: "detached" });
    expect(await admin.page.getByRole("row").count()).toBe(102); // the header and 101 invitations, none twice
    expect(admin.errors).toEqual([]);
  });

  it("finds an expired anonymous member under Anonymous -> Expired, with no actions", async () => {
    const ws = await createWorkspace(server);
    await smsFromStranger(server, ws, "+14155550188", "Anyone there?");
    const admin = await newPage(await browser.newContext());
    await signIn(admin.page, server, ws, ws.ownerEmail);
    await admin.page.getByRole("tab", { name: "Anonymous" }).click();
    const stranger = admin.page.getByRole("row").filter({ hasText: "+14155550188" });
    await stranger.waitFor();
    const name = (await stranger.getByRole("rowheader").textContent())?.replace(/(Team|Customer)$/, "") ?? "";
    await rowAction(admin.page, name, "Expire");
    await stranger.waitFor({ state: "detached" });
    await admin.page.getByLabel("Status", { exact: true }).selectOption("expired");
    await stranger.waitFor();
    expect(await stranger.getByRole("button", { name: `Actions for ${name}` }).count()).toBe(0);
    expect(admin.errors).toEqual([]);
  });

  it("drops the live connection, says so, and catches up on the change made meanwhile", async () => {
    const ws = await createWorkspace(server);
    const { page, errors } = await newPage(await browser.newContext());
    await signIn(page, server, ws, ws.ownerEmail);
    // The live socket lives in a worker (web/src/live/worker.ts), which page.routeWebSocket does
    // not reach (microsoft/playwright#37048): a switch in the worker refuses new sockets.
    const [worker] = page.workers();
    if (!worker) throw new Error("no live worker");
    await worker.evaluate(() => {
      const Native = WebSocket;
      const state = { cut: false, urls: [] as string[] };
      Object.assign(globalThis, {
        socketSwitch: state,
        WebSocket: class extends Native {
          constructor(url: string | URL, protocols?: string | string[]) {
            state.urls.push(String(url));
            if (state.cut) throw new Error("offline");
            super(url, protocols);
          }
        },
      });
    });
    const setCut = (cut: boolean) =>
      worker.evaluate((on) => {
        (Reflect.get(globalThis, "socketSwitch") as { cut: boolean }).cut = on;
      }, cut);

    // The connection drops (the server restarts) and no new socket opens.
    await setCut(true);
    await server.restart();
    await page.locator(".live-indicator[data-state=reconnecting]").waitFor();
    await screenshot(page, "reconnecting");

    await callApi(server, ws.key, "POST", "/v1/members", { name: "Made While Away", email: `away@${ws.slug}.test` });
    expect(await row(page, "Made While Away").count()).toBe(0);

    await setCut(false);
    await live(page);
    await row(page, "Made While Away").waitFor({ timeout: 5_000 });
    const urls = await worker.evaluate(() => (Reflect.get(globalThis, "socketSwitch") as { urls: string[] }).urls);
    expect(urls.at(-1)).toMatch(/[?&]after=\d+/);
    expect(errors).toEqual([]);
  });

  it("sends back the newest x-d1-bookmark it was answered, so it reads its own writes, a reload included", async () => {
    const ws = await createWorkspace(server);
    const { page, errors } = await newPage(await browser.newContext());
    const isApi = (url: string) => new URL(url).pathname.startsWith("/v1/");
    // The page's reads in order, each with the bookmark it sent, once an answer carried one.
    let answered = false;
    const reads: { path: string; sent: string | undefined }[] = [];
    page.on("response", (response) => {
      if (isApi(response.url()) && response.headers()["x-d1-bookmark"]) answered = true;
    });
    page.on("request", (request) => {
      if (answered && isApi(request.url()) && request.method() === "GET")
        reads.push({ path: new URL(request.url()).pathname, sent: request.headers()["x-d1-bookmark"] });
    });

    // The sign-in answers one (public, but it made the session the next reads must find).
    await signIn(page, server, ws, ws.ownerEmail);
    expect(reads.length).toBeGreaterThan(0);
    expect(reads.filter((read) => !read.sent)).toEqual([]);

    await page.getByRole("button", { name: "Add Member" }).click();
    const dialog = page.getByRole("dialog", { name: "Add Member" });
    await dialog.getByLabel("Name").fill("Rosalind Franklin");
    await dialog.getByLabel("Email").fill(`rosalind@${ws.slug}.test`);
    const [created] = await Promise.all([
      page.waitForResponse(
        (response) => response.request().method() === "POST" && new URL(response.url()).pathname === "/v1/members",
      ),
      dialog.getByRole("button", { name: "Add member" }).click(),
    ]);
    const written = created.headers()["x-d1-bookmark"] ?? "";
    expect(written).toMatch(/^[0-9]+:[0-9a-f]+(?:-[0-9a-f]+)+$/);

    // Kept for the tab: the reads of a reload send it (or a newer one) back.
    const firstRead = page.waitForRequest((request) => request.method() === "GET" && isApi(request.url()));
    await page.reload();
    const sent = (await firstRead).headers()["x-d1-bookmark"] ?? "";
    expect(sent >= written).toBe(true);
    await row(page, "Rosalind Franklin").waitFor();
    expect(errors).toEqual([]);
  });

  it("has no serious accessibility violations on the main screens", async () => {
    const ws = await createWorkspace(server);
    await callApi(server, ws.key, "POST", "/v1/members", {
      name: "Grace Hopper",
      email: `grace@${ws.slug}.test`,
      phone: "+14155550101",
      labels: ["vip", "enterprise"],
    });
    // 60 more members, so the list has a second page.
    const imported = await fetch(`${server.url}/v1/imports?role=user`, {
      method: "POST",
      headers: {
        Authorization: `Bearer ${ws.key}`,
        "Content-Type": "application/json",
        Accept: "application/x-ndjson",
      },
      body: JSON.stringify({
        members: Array.from({ length: 60 }, (_, i) => ({
          name: `Bulk Person ${i}`,
          email: `bulk${i}@${ws.slug}.test`,
        })),
      }),
    });
    expect(await imported.text()).toContain('"status":"completed"');
    const context = await browser.newContext();
    const { page, errors } = await newPage(context);
    await page.goto(`${server.url}/sign-in`);
    await screenshot(page, "sign-in");
    expect(await seriousViolations(page)).toEqual([]);

    await signIn(page, server, ws, ws.ownerEmail);
    await page.getByRole("button", { name: "Load more" }).waitFor();
    expect(await seriousViolations(page)).toEqual([]);

    // Keyset pages: 50 rows, then the rest (62 members and the header row).
    expect(await page.getByRole("row").count()).toBe(51);
    await page.getByRole("button", { name: "Load more" }).click();
    await row(page, "Grace Hopper").waitFor();
    expect(await page.getByRole("row").count()).toBe(63);
    await page.getByRole("button", { name: "Load more" }).waitFor({ state: "detached" });

    // Search narrows the list to the matching members.
    await page.getByRole("searchbox", { name: "Search" }).fill("grace");
    await expect.poll(() => page.getByRole("row").count()).toBe(2);
    await row(page, "Grace Hopper").waitFor();

    await page.getByRole("button", { name: "Add Member" }).click();
    await page.getByRole("dialog", { name: "Add Member" }).waitFor();
    await screenshot(page, "add-member");
    expect(await seriousViolations(page)).toEqual([]);
    await page.keyboard.press("Escape");
    // Focus returns to the button that opened the dialog.
    await expect.poll(() => page.evaluate(() => document.activeElement?.textContent)).toBe("Add Member");

    // The row menu works from the keyboard: open, arrow down, Escape returns focus to its button.
    const menuButton = page.getByRole("button", { name: "Actions for Grace Hopper" });
    await menuButton.focus();
    await page.keyboard.press("Enter");
    await expect.poll(() => page.evaluate(() => document.activeElement?.textContent)).toBe("Edit");
    await page.keyboard.press("ArrowDown");
    await expect.poll(() => page.evaluate(() => document.activeElement?.textContent)).toBe("Change Email");
    await page.keyboard.press("Escape");
    await expect.poll(() => menuButton.evaluate((el) => el === document.activeElement)).toBe(true);

    await page.getByRole("link", { name: "Invitations" }).click();
    await page.getByRole("heading", { name: "Join requests" }).waitFor();
    expect(await seriousViolations(page)).toEqual([]);

    const visitor = await newPage(await browser.newContext());
    await visitor.page.goto(`${server.url}/join/${ws.slug}`);
    await visitor.page.getByRole("button", { name: "Send request" }).click();
    await visitor.page.getByRole("alert").first().waitFor();
    expect(await seriousViolations(visitor.page)).toEqual([]);
    expect(errors).toEqual([]);
  });
});
