import type { D1Migration } from "cloudflare:test";

declare global {
  namespace Cloudflare {
    interface Env {
      TEST_MIGRATIONS: D1Migration[];
      /** The schema TEST_MIGRATIONS make, as statements for one batch (scripts/d1-schema.mjs, test/schema.ts). */
      TEST_SCHEMA: string[];
      UPGRADE_DB: D1Database;
    }
  }
}

declare module "vitest" {
  export interface ProvidedContext {
    /** The origin of the local webhook receiver (test/integration/webhook-receiver.ts, the global setup). */
    webhookReceiver: string;
  }
}
