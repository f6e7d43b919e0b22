import { AsyncLocalStorage } from "node:async_hooks";
import { type Actor, SYSTEM } from "./schema";

/**
 * The actor of the work running now, so that every appendEvent (./append.ts) records it
 * without each write taking it as a parameter: a route sets it once from its credential
 * (worker/auth/route.ts), background work from what it runs for (an import, an action).
 * Work that sets none (Cron: expiry, sweeps, upgrades) acts as `system`.
 */
const storage = new AsyncLocalStorage<Actor>();

/** Runs `work` (and everything it awaits) as `actor`. */
export const actingAs = <T>(actor: Actor, work: () => T): T => storage.run(actor, work);

export const currentActor = (): Actor => storage.getStore() ?? SYSTEM;

/** The current actor as the JSON an `events.actor` column holds, for a set-based insert of events. */
export const currentActorJson = (): string => JSON.stringify(currentActor());
