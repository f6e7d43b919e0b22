import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevServer, startDevServer } from "../integration/dev-server";
import { callApi, createWorkspace, cspReports, launchBrowser, linkFromOutbox, newPage, signIn } from "./browser";

let server: DevServer;
let browser: Browser;

beforeAll(async () => {
  [server, browser] = await Promise.all([startDevServer(), launchBrowser()]);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

/** Every page path the app routes (index.html through the single-page fallback), the public ones included. */
const PAGES = [
  "/",
  "/members",
  "/labels",
  "/audit",
  "/members/mem_0000000000",
  "/settings/invitations",
  "/settings/api-keys",
  "/settings/sms",
  "/sign-in",
  "/join/some-workspace",
  "/join", // an invitation's link: /join#token=...
  "/credential-change", // a credential change's confirmation link: /credential-change#token=...
];

/** A CSP header as a map of directive to its sources. */
function directives(csp: string | null) {
  return Object.fromEntries(
    (csp ?? "")
      .split(";")
      .map((part) => part.trim().split(/\s+/))
      .filter(([name]) => name)
      .map(([name, ...sources]) => [name, sources]),
  );
}

describe("the pages' headers", () => {
  it("send a CSP allowing only this origin's scripts (no inline ones) and no framing, and no referrer, on every page", async () => {
    for (const path of [...PAGES, "/assets/app.js", "/assets/scalar.js", "/app.css"]) {
      const res = await fetch(`${server.url}${path}`);
      expect(res.status, path).toBe(200);
      const header = res.headers.get("Content-Security-Policy");
      expect(directives(header), path).toMatchObject({
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
      });
      expect(header, path).not.toContain("unsafe");
      expect(res.headers.get("Referrer-Policy"), path).toBe("no-referrer");
      expect(res.headers.get("X-Content-Type-Options"), path).toBe("nosniff");
    }
  });

  it("send the API reference (/docs) this origin's scripts only, and inline styles (Scalar writes its own) there alone", async () => {
    const res = await fetch(`${server.url}/docs`);
    expect(res.status).toBe(200);
    const header = res.headers.get("Content-Security-Policy");
    expect(header).not.toContain(","); // one policy, not the pages' joined to it
    expect(directives(header)).toMatchObject({
      "default-src": ["'self'"],
      "script-src": ["'self'"],
      "style-src": ["'self'", "'unsafe-inline'"],
      "connect-src": ["'self'"],
      "object-src": ["'none'"],
      "base-uri": ["'none'"],
      "frame-ancestors": ["'none'"],
    });
    expect(res.headers.get("Referrer-Policy")).toBe("no-referrer");
    expect(await res.text()).toContain('<script defer src="/assets/scalar.js"></script>');
  });

  it("serve the page itself at page paths, and not the headers file", async () => {
    for (const path of ["/members", "/_headers"]) {
      const res = await fetch(`${server.url}${path}`);
      expect(res.headers.get("Content-Type"), path).toMatch(/^text\/html/);
      expect(await res.text(), path).toContain('<script type="module" src="/assets/app.js"></script>');
    }
  });

  it("on the API's answers: no referrer, nothing may run or frame them, and no D1 metrics unless the deployment opts in", async () => {
    const ws = await createWorkspace(server);
    const answers = [
      await fetch(`${server.url}/healthz`),
      await fetch(`${server.url}/openapi.json`),
      await fetch(`${server.url}/v1/members`),
      await fetch(`${server.url}/v1/members`, { headers: { Authorization: `Bearer ${ws.key}` } }),
      await fetch(`${server.url}/v1/auth/login`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ workspace: ws.slug, email: ws.ownerEmail }),
      }),
    ];
    expect(answers.map((res) => res.status)).toEqual([200, 200, 401, 200, 202]);
    for (const res of answers) {
      expect(res.headers.get("Referrer-Policy")).toBe("no-referrer");
      expect(directives(res.headers.get("Content-Security-Policy"))).toMatchObject({
        "default-src": ["'none'"],
        "frame-ancestors": ["'none'"],
      });
      // This server runs without DEBUG_METRICS (test/integration/dev-server.ts), as a deployment does.
      expect(res.headers.get("Server-Timing") ?? "").not.toContain("d1");
    }
  });
});

describe("the admin view under its CSP in Chromium", () => {
  it("signs in, goes live over its WebSocket and adds a member with no CSP violation, while an injected inline script does not run", async () => {
    const ws = await createWorkspace(server);
    const { page, errors } = await newPage(await browser.newContext());
    const reports = cspReports(page);
    // Signing in goes through /sign-in and /sign-in#token=..., then the live stream (connect-src 'self').
    await signIn(page, server, ws, ws.ownerEmail);
    await page.getByRole("button", { name: "Add Member" }).click();
    const dialog = page.getByRole("dialog", { name: "Add Member" });
    await dialog.getByLabel("Name").fill("Cora Csp");
    await dialog.getByLabel("Email").fill(`cora@${ws.slug}.test`);
    await dialog.getByRole("button", { name: "Add member" }).click();
    await page.getByRole("row", { name: /Cora Csp/ }).waitFor();
    await page.getByRole("link", { name: "Invitations" }).click();
    await page.getByRole("heading", { name: "Join requests" }).waitFor();
    expect(reports).toEqual([]);
    expect(errors).toEqual([]);

    // What an injected <script> would run (an XSS) is refused.
    await page.evaluate(() => {
      const script = document.createElement("script");
      script.textContent = "document.body.dataset.injected = 'ran'";
      document.head.append(script);
    });
    expect(await page.evaluate(() => document.body.dataset.injected)).toBeUndefined();
    await expect.poll(() => reports.length).toBeGreaterThan(0);
  });

  it("lets a visitor send a join request and accept the invitation it brings, with no CSP violation", async () => {
    const ws = await createWorkspace(server);
    const { page, errors } = await newPage(await browser.newContext());
    const reports = cspReports(page);
    await page.goto(`${server.url}/join/${ws.slug}`);
    await page.getByLabel("Name").fill("Vic Visitor");
    await page.getByLabel("Email").fill(`vic@${ws.slug}.test`);
    await page.getByRole("button", { name: "Send request" }).click();
    await page.getByRole("heading", { name: "Request sent" }).waitFor();

    await callApi(server, ws.key, "POST", "/v1/invitations", { email: `ivy@${ws.slug}.test`, name: "Ivy Invitee" });
    await page.goto(await linkFromOutbox(server, ws, `ivy@${ws.slug}.test`, "/join#token="));
    await page.getByRole("heading", { name: "Welcome, Ivy Invitee" }).waitFor();
    expect(reports).toEqual([]);
    expect(errors).toEqual([]);
  });
});
