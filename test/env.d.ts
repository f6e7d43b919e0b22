import type { D1Migration } from "cloudflare:test";

declare global {
  namespace Cloudflare {
    interface Env {
      TEST_MIGRATIONS: D1Migration[];
      TEST_DIRECTORY_MIGRATIONS: D1Migration[];
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
