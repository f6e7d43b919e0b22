import { readdirSync, readFileSync } from "node:fs";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { schemaStatements } from "./scripts/d1-schema.mjs";

const PLATFORM_TOKEN = "test-platform-token";

/**
 * Every entry of a runtime dependency (package.json "dependencies") that the code run
 * inside workerd imports (the Node tests of test/integration and test/e2e aside), e.g.
 * "hono" and "hono/cookie". Vite pre-bundles them into a few modules: each test file runs
 * in a fresh workerd, which loads every module of the Worker one by one, 430 of them, 269
 * from dependencies (drizzle-orm 111, libphonenumber-js 93). All of a package's entries are
 * listed, or an entry left out would load its own copy of the package's classes.
 */
function dependencyEntries(dirs: string[]): string[] {
  const { dependencies } = JSON.parse(readFileSync("package.json", "utf8")) as { dependencies: object };
  const packages = Object.keys(dependencies);
  const entries = new Set<string>();
  for (const dir of dirs) {
    for (const file of readdirSync(dir, { recursive: true, encoding: "utf8" })) {
      if (!file.endsWith(".ts") || file.startsWith("integration/") || file.startsWith("e2e/")) continue;
      const source = readFileSync(`${dir}/${file}`, "utf8");
      for (const [, entry = ""] of source.matchAll(/(?:from|import\(?)\s*"([^".][^"]*)"/g)) {
        if (packages.some((p) => entry === p || entry.startsWith(`${p}/`))) entries.add(entry);
      }
    }
  }
  return [...entries].sort();
}

export default defineConfig(async () => {
  // The shards share migrations/; the directory has its own (wrangler.toml).
  const migrations = await readD1Migrations("migrations");
  const directoryMigrations = await readD1Migrations("migrations/directory");
  return {
    test: {
      projects: [
        {
          // Inside workerd: the Worker, D1 and the Durable Objects, through their public surface.
          plugins: [
            cloudflareTest({
              wrangler: { configPath: "./wrangler.toml" },
              miniflare: {
                // A database of its own for test/upgrades, which migrates it step by step; two of no
                // shard for tests of D1 itself and of placement (test/shards), which fill them.
                d1Databases: ["UPGRADE_DB", "SCRATCH_A", "SCRATCH_B"],
                bindings: {
                  TEST_MIGRATIONS: migrations,
                  // What the migrations make, applied to each test file's databases in one batch each (test/schema.ts).
                  TEST_SCHEMA: schemaStatements(migrations),
                  TEST_DIRECTORY_SCHEMA: schemaStatements(directoryMigrations),
                  PLATFORM_TOKEN,
                  SECRETS_KEY: "test-secrets-key-of-at-least-32-chars",
                  // Webhook retries at once in tests; backoff itself is tested in test/actions.
                  WEBHOOK_RETRY_BASE_SECONDS: "0",
                  // Local receivers may listen on http://localhost (worker/actions/url.ts).
                  WEBHOOK_ALLOW_LOCALHOST: "1",
                  // D1 metrics in Server-Timing (worker/lib/d1-metrics.ts): tests read them, and
                  // check that public routes never carry them even so.
                  DEBUG_METRICS: "1",
                  // Background bulk jobs (label deletions, role retypes) in batches of at most 5
                  // members (worker/lib/bounded.ts), so a test of one that spans several batches
                  // and the job needs few members.
                  BULK_BATCH: "5",
                  // Small, so test/live/bounds.test.ts reaches it (2,000 unless set); no other test opens
                  // more than a few sockets on one workspace.
                  LIVE_MAX_SOCKETS: "6",
                },
              },
            }),
          ],
          test: {
            name: "workers",
            include: ["test/**/*.test.ts"],
            exclude: ["test/integration/**", "test/e2e/**"],
            setupFiles: ["./test/apply-migrations.ts"],
            // A real local webhook receiver, run in Node (test/actions/redirects.test.ts).
            globalSetup: ["./test/integration/webhook-receiver.ts"],
            testTimeout: 30_000,
            deps: {
              optimizer: {
                ssr: {
                  enabled: true,
                  include: dependencyEntries(["worker", "durable-objects", "test"]),
                  // Left to workerd, as when they are not pre-bundled.
                  rolldownOptions: { external: [/^node:/, /^cloudflare:/] },
                },
              },
            },
          },
        },
        {
          // In Node against a real `wrangler dev`, with real clients.
          test: {
            name: "integration",
            include: ["test/integration/**/*.test.ts"],
            environment: "node",
            testTimeout: 180_000,
          },
        },
        {
          // In real Chromium (playwright-core) against a real `wrangler dev`: the admin view and join pages.
          test: { name: "e2e", include: ["test/e2e/**/*.test.ts"], environment: "node", testTimeout: 120_000 },
        },
      ],
    },
  };
});
