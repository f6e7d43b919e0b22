import type { D1Migration } from "cloudflare:test";

declare global {
  namespace Cloudflare {
    interface Env {
      TEST_MIGRATIONS: D1Migration[];
      UPGRADE_DB: D1Database;
      MOVE_TARGET: D1Database;
    }
  }
}

declare module "vitest" {
  export interface ProvidedContext {
    /** The origin of the local webhook receiver (test/integration/webhook-receiver.ts, the global setup). */
    webhookReceiver: string;
  }
}
