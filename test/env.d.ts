import type { D1Migration } from "cloudflare:test";

declare global {
  namespace Cloudflare {
    interface Env {
      TEST_MIGRATIONS: D1Migration[];
      /** The schema TEST_MIGRATIONS make, as statements for one batch (scripts/d1-schema.mjs, test/schema.ts). */
      TEST_SCHEMA: string[];
      /** Likewise for the directory's migrations (migrations/directory). */
      TEST_DIRECTORY_SCHEMA: string[];
      UPGRADE_DB: D1Database;
      /** Databases of no shard: tests of D1 itself, and of placement. */
      SCRATCH_A: D1Database;
      SCRATCH_B: D1Database;
    }
  }
}

declare module "vitest" {
  export interface ProvidedContext {
    /** The origin of the local webhook receiver (test/integration/webhook-receiver.ts, the global setup). */
    webhookReceiver: string;
  }
}
