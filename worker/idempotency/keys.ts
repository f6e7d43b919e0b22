import { and, eq, inArray, isNull, lt, notInArray, or, sql } from "drizzle-orm";
import type { Context, Next } from "hono";
import type { AppEnv, Caller } from "../app";
import { sha256Hex } from "../lib/crypto";
import type { Db } from "../lib/db";
import { ApiError } from "../lib/errors";
import { movingWorkspaces } from "../moves/table";
import { idempotencyKeys } from "./table";

export const IDEMPOTENCY_HEADER = "Idempotency-Key";
export const REPLAYED_HEADER = "Idempotent-Replayed";
/** How long a key's answer is replayed (Stripe's window). */
export const KEEP_MS = 24 * 60 * 60 * 1000;
/**
 * A first request still marked running after this long died with its isolate (a request's
 * wall time is far shorter): a retry with the same key runs again instead of a 409 for a day.
 */
const ABANDONED_MS = 5 * 60 * 1000;
/** Rows the hourly cleanup deletes per statement, and statements per run. */
const SWEEP = { rows: 500, batches: 20 };
/**
 * Answers of requests that never began their work (Stripe saves no result for them): the body
 * did not parse or failed the schema. A retry with a fixed body under the same key may run.
 */
const NOT_STARTED = new Set(["invalid_json", "unsupported_media_type", "validation_failed", "payload_too_large"]);

const credentialOf = (caller: Caller) =>
  caller.keyId ? `key:${caller.keyId}` : caller.sessionId ? `session:${caller.sessionId}` : undefined;

/**
 * Where a credential's keys are kept: a workspace's caller's on the workspace's shard; the
 * platform token's in the directory (a POST /v1/workspaces has no workspace yet), under the
 * workspace id "" and the credential `platform` (./platform.ts).
 */
export type Scope = { db: Db; workspaceId: string; credential: string | undefined };

/**
 * Stripe's idempotency for a POST of an authenticated caller that sends `Idempotency-Key`:
 * the first request under a key runs and its answer (2xx or 4xx) is kept 24 h; the same key
 * with the same method, path and body gets that answer again (`Idempotent-Replayed: true`)
 * and changes nothing; with another request, 422 `idempotency_mismatch`; while the first
 * runs, 409 `idempotency_in_progress`. A 5xx or a body that never passed validation keeps
 * nothing, so a retry runs afresh.
 *
 * The claim is one INSERT on the key's primary key: of two racing requests exactly one
 * inserts (or takes over an expired or abandoned row), the other reads the row it lost to.
 */
export async function idempotent(c: Context<AppEnv>, next: Next, scope?: Scope) {
  const key = c.req.header(IDEMPOTENCY_HEADER);
  const { db, workspaceId, credential } = scope ?? {
    db: c.var.db,
    workspaceId: c.var.caller.workspaceId,
    credential: credentialOf(c.var.caller),
  };
  if (key === undefined || credential === undefined) return next();
  if (key.length < 1 || key.length > 255) {
    throw new ApiError(400, "invalid_idempotency_key");
  }
  const url = new URL(c.req.url);
  const row = {
    workspaceId,
    credential,
    keyHash: await sha256Hex(key),
    requestHash: await sha256Hex(`POST ${url.pathname}${url.search}\n${await c.req.text()}`),
    status: null,
    body: null,
    contentType: null,
    createdAt: new Date().toISOString(),
  };
  const at = Date.now();
  const claimed = await db
    .insert(idempotencyKeys)
    .values(row)
    .onConflictDoUpdate({
      target: [idempotencyKeys.workspaceId, idempotencyKeys.credential, idempotencyKeys.keyHash],
      set: { requestHash: row.requestHash, status: null, body: null, contentType: null, createdAt: row.createdAt },
      setWhere: or(
        lt(idempotencyKeys.createdAt, new Date(at - KEEP_MS).toISOString()),
        and(isNull(idempotencyKeys.status), lt(idempotencyKeys.createdAt, new Date(at - ABANDONED_MS).toISOString())),
      ),
    })
    .returning({ createdAt: idempotencyKeys.createdAt });
  const mine = and(
    eq(idempotencyKeys.workspaceId, row.workspaceId),
    eq(idempotencyKeys.credential, credential),
    eq(idempotencyKeys.keyHash, row.keyHash),
  );
  if (claimed.length === 0) return replay(db, mine, row.requestHash);

  await next();
  const code = c.res.status >= 400 ? await errorCode(c.res) : undefined;
  // Only this request's own claim is settled: `created_at` tells it from a later takeover.
  const ours = and(mine, eq(idempotencyKeys.createdAt, row.createdAt));
  if (c.res.status >= 500 || (code && NOT_STARTED.has(code))) {
    await db.delete(idempotencyKeys).where(ours);
    return;
  }
  await db
    .update(idempotencyKeys)
    .set({ status: c.res.status, body: await c.res.clone().text(), contentType: c.res.headers.get("Content-Type") })
    .where(ours);
}

async function replay(db: Db, mine: ReturnType<typeof and>, requestHash: string) {
  const [first] = await db.select().from(idempotencyKeys).where(mine);
  // Gone between the claim and this read: its request failed (5xx) and kept nothing.
  if (!first || first.status === null) {
    throw new ApiError(409, "idempotency_in_progress");
  }
  if (first.requestHash !== requestHash) {
    throw new ApiError(422, "idempotency_mismatch");
  }
  const headers = new Headers({ [REPLAYED_HEADER]: "true" });
  if (first.contentType) headers.set("Content-Type", first.contentType);
  return new Response(first.status === 204 ? null : first.body, { status: first.status, headers });
}

async function errorCode(res: Response): Promise<string | undefined> {
  try {
    const json = (await res.clone().json()) as { error?: { code?: unknown } };
    return typeof json.error?.code === "string" ? json.error.code : undefined;
  } catch {
    return undefined;
  }
}

/** The hourly cleanup: keys older than 24 h, oldest first, in bounded batches. */
export async function sweepIdempotencyKeys(db: Db, now: number, where: "shard" | "directory" = "shard") {
  const cutoff = new Date(now - KEEP_MS).toISOString();
  for (let i = 0; i < SWEEP.batches; i++) {
    const deleted = await db
      .delete(idempotencyKeys)
      .where(
        inArray(
          sql`rowid`,
          db
            .select({ rowid: sql`rowid` })
            .from(idempotencyKeys)
            // A moving workspace's rows wait for the next run: once frozen, deleting them fails.
            .where(
              and(
                lt(idempotencyKeys.createdAt, cutoff),
                // The directory's keys (the platform token's, ./platform.ts) belong to no workspace.
                where === "shard"
                  ? notInArray(
                      idempotencyKeys.workspaceId,
                      db.select({ id: movingWorkspaces.workspaceId }).from(movingWorkspaces),
                    )
                  : undefined,
              ),
            )
            .orderBy(idempotencyKeys.createdAt)
            .limit(SWEEP.rows),
        ),
      )
      .returning({ keyHash: idempotencyKeys.keyHash });
    if (deleted.length < SWEEP.rows) return;
  }
}
