/**
 * Helpers for the end-to-end tests: real Chromium (Debian's package, driven by
 * playwright-core) against a real `wrangler dev` of this project.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from "playwright-core";
// The official helper signs test requests exactly as Twilio does.
import { getExpectedTwilioSignature } from "twilio/lib/webhooks/webhooks";
import { afterAll, beforeAll } from "vitest";
import { type DevServer, startDevServer } from "../integration/dev-server";
import { waitFor } from "../wait";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
}

/**
 * A `wrangler dev` and a Chromium for a test file's tests: started before the first,
 * stopped after the last. Read `.server` and `.browser` inside the tests.
 */
export function serverAndBrowser() {
  const running = {} as { server: DevServer; browser: Browser };
  beforeAll(async () => {
    [running.server, running.browser] = await Promise.all([startDevServer(), launchBrowser()]);
  }, 120_000);
  afterAll(async () => {
    await running.browser?.close();
    await running.server?.stop();
  });
  return running;
}

/** What one browser did must show in another within a second of it committing. */
/** The README's screenshots change only on purpose (`npm run screenshots`), not on every test run. */
const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS ? "docs/screenshots" : "test/e2e/out";

/** Saves `target`'s picture as `<name>.png` among the screenshots. */
export async function screenshot(target: Page | Locator, name: string, options: { fullPage?: boolean } = {}) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await target.screenshot({ path: `${SCREENSHOTS}/${name}.png`, ...options });
}

export const withinASecond = (locator: Locator) => locator.waitFor({ timeout: 1_000 });
export const goneWithinASecond = (locator: Locator) => locator.waitFor({ state: "detached", timeout: 1_000 });

/** An API call with the workspace owner's key (what an integrator's server would do). */
export async function callApi<T = unknown>(
  server: DevServer,
  key: string,
  method: string,
  path: string,
  body?: unknown,
) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await res.json().catch(() => null)) as T;
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

export type TestWorkspace = { id: string; slug: string; key: string; ownerEmail: string };

let counter = 0;
/** A fresh workspace (taking join requests) per test, so tests never share data. */
export async function createWorkspace(server: DevServer): Promise<TestWorkspace> {
  const slug = `e2e-${Date.now().toString(36)}-${++counter}`;
  const ownerEmail = `owner@${slug}.test`;
  const body = await callApi<{ apiKey: string; workspace: { id: string } }>(
    server,
    server.platformToken,
    "POST",
    "/v1/workspaces",
    {
      name: `Workspace ${counter}`,
      slug,
      owner: { name: "Olive Owner", email: ownerEmail },
      allowJoinRequests: true,
    },
  );
  return { id: body.workspace.id, slug, key: body.apiKey, ownerEmail };
}

/**
 * The newest link of this kind (`/sign-in#token=`, `/join#token=`) in the local outbox for
 * an address, waiting for it: a sign-in link is sent after the login's answer.
 */
export async function linkFromOutbox(server: DevServer, ws: TestWorkspace, to: string, kind: string) {
  let link: string | undefined;
  await waitFor(`a ${kind} link for ${to}`, async () => {
    const page = await callApi<{ data: { text: string }[] }>(
      server,
      ws.key,
      "GET",
      `/v1/outbox?to=${encodeURIComponent(to)}`,
    );
    link = page.data
      .flatMap((message) => message.text.match(/https?:\/\/\S+/g) ?? [])
      .find((url) => url.includes(kind));
    return link !== undefined;
  });
  return link as string;
}

/**
 * Chromium logs every 4xx answer as a console error; a 422 with field errors is an
 * expected answer the UI shows, not an error of the app.
 */
const EXPECTED_API_ANSWER = /^Failed to load resource: the server responded with a status of 4\d\d/;

/** A page that records console errors and uncaught exceptions: the app must produce none. */
export async function newPage(context: BrowserContext) {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error" && !EXPECTED_API_ANSWER.test(message.text())) errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(error.message));
  return { page, errors };
}

/** The console's reports of the CSP refusing something. */
export function cspReports(page: Page) {
  const reports: string[] = [];
  page.on("console", (message) => {
    if (message.text().includes("Content Security Policy")) reports.push(message.text());
  });
  return reports;
}

/** Signs in through the UI: ask for a link, take it from the outbox, open it; lands on Members. */
export async function signIn(page: Page, server: DevServer, ws: TestWorkspace, email: string) {
  await page.goto(`${server.url}/sign-in`);
  await page.getByLabel("Workspace").fill(ws.slug);
  await page.getByLabel("Email").fill(email);
  await page.getByRole("button", { name: "Email me a sign-in link" }).click();
  await page.getByRole("heading", { name: "Check your email" }).waitFor();
  await page.goto(await linkFromOutbox(server, ws, email, "/sign-in#token="));
  await page.getByRole("heading", { name: "Members" }).waitFor();
  await live(page);
}

/** Waits until the connection indicator says the live stream is up. */
export const live = (page: Page, timeout = 15_000) =>
  page.locator(".live-indicator[data-state=live]").waitFor({ timeout });

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

type AxeViolation = { id: string; impact: string | null; help: string; nodes: { target: unknown }[] };

/** axe-core's serious and critical violations on the page as it is now (WCAG 2 A/AA rules). */
export async function seriousViolations(page: Page) {
  // Evaluated, not added as a script tag: the pages' CSP refuses inline scripts (web/public/_headers).
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (o: unknown) => Promise<{ violations: AxeViolation[] }> } }).axe;
    const result = await axe.run({ runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => n.target),
    }));
  });
  return violations.filter((v) => v.impact === "serious" || v.impact === "critical");
}

const AUTH_TOKEN = "e2e0c4e1b8a6035d9e2c7f4a1b8e6300";
const WORKSPACE_NUMBER = "+14155550100";

/**
 * An SMS from an unknown number, as Twilio posts it (signed): the workspace gets an
 * anonymous member for that number.
 */
export async function smsFromStranger(server: DevServer, ws: TestWorkspace, from: string, text: string) {
  await callApi(server, ws.key, "PUT", "/v1/settings/sms", {
    provider: "twilio",
    accountSid: "AC0123456789abcdef0123456789abcdef",
    authToken: AUTH_TOKEN,
    numbers: [WORKSPACE_NUMBER],
  });
  const url = `${server.url}/webhooks/twilio/${ws.id}/sms`;
  const sid = `SM${Date.now().toString(16).padStart(32, "0")}`;
  const params = { MessageSid: sid, SmsSid: sid, From: from, To: WORKSPACE_NUMBER, Body: text, NumMedia: "0" };
  const res = await fetch(url, {
    method: "POST",
    headers: {
      "Content-Type": "application/x-www-form-urlencoded",
      "X-Twilio-Signature": getExpectedTwilioSignature(AUTH_TOKEN, url, params),
    },
    body: new URLSearchParams(params).toString(),
  });
  if (!res.ok) throw new Error(`inbound sms: ${res.status} ${await res.text()}`);
}
