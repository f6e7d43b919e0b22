import { and, eq, sql } from "drizzle-orm";
import type { Caller } from "../app";
import type { Db } from "../lib/db";
import { ApiError, invalidField } from "../lib/errors";
import { newId } from "../lib/ids";
import { insertWhere } from "../lib/insert-where";
import { parseOr422 } from "../lib/validate";
import { attributeCell } from "../members/attributes";
import { assignableRole } from "../members/rules";
import { ATTRIBUTE_PREFIX, COLUMN_NAME, FIELDS, keptWarnings, mapHeader, unknownColumn } from "./columns";
import { CsvFileError, csvLine, MAX_RECORD_BYTES, readRecords } from "./csv";
import type { ImportMessage } from "./message";
import { resumeIfStalled } from "./queue";
import { JsonImportBody, type JsonImportMember } from "./schema";
import { type ImportRow, type ImportWarning, imports } from "./table";

/** The most we take: 1,000,000 typical rows fit. Larger uploads answer 413. */
export const MAX_UPLOAD_BYTES = 100 * 1024 * 1024;
/**
 * A JSON body is parsed whole, so it is held to less: 4 MiB of tiny objects still parses
 * well inside the isolate's 128 MB (16 MiB of `{}` did not). Larger lists go as CSV.
 */
export const MAX_JSON_BYTES = 4 * 1024 * 1024;
/**
 * Size of the R2 multipart parts the upload is streamed in (R2 wants equal parts of at
 * least 5 MiB but the last): a large upload is never whole in memory.
 */
const PART_BYTES = 8 * 1024 * 1024;

/** Imports that may run at once in a workspace: one more answers 429 until one ends. */
export const MAX_RUNNING_IMPORTS = 2;
/** The 429's Retry-After: a slot frees when an import ends, which GET /v1/imports/{id} tells exactly. */
const RETRY_AFTER_SECONDS = 30;

const tooManyImports = () =>
  new ApiError(
    429,
    "too_many_imports",
    `At most ${MAX_RUNNING_IMPORTS} imports run at a time in a workspace; try again when one has ended.`,
    {},
    { "Retry-After": String(RETRY_AFTER_SECONDS) },
  );

const tooLarge = (max: number) =>
  new ApiError(413, "payload_too_large", `Imports are limited to ${max / 1024 / 1024} MiB.`);

type Upload = {
  source: "csv" | "json";
  body: ReadableStream<Uint8Array>;
  total: number | null;
  warnings: ImportWarning[];
};

/**
 * Stores the upload in R2, reads its header and records the import (status running);
 * the caller then queues it. Role and header problems, and a workspace running
 * MAX_RUNNING_IMPORTS imports, answer 4xx with nothing kept.
 */
export async function startImport(
  env: Env,
  db: Db,
  caller: Caller,
  roleKey: string,
  request: Request,
): Promise<ImportRow> {
  const [role] = await Promise.all([assignableRole(db, caller, roleKey), assertSlotFree(env, db, caller.workspaceId)]);
  const upload = await readUpload(request);
  const id = newId("imp");
  const objectKey = `imports/${caller.workspaceId}/${id}.csv`;
  const bytes = await storeUpload(env.IMPORTS, objectKey, upload.body);
  try {
    const header = await readHeader(env.IMPORTS, objectKey);
    const mapped = mapHeader(header.cells);
    const at = new Date().toISOString();
    const row: ImportRow = {
      id,
      workspaceId: caller.workspaceId,
      status: "running",
      source: upload.source,
      role: role.key,
      createdBy: caller.memberId,
      callerScopes: caller.scopes,
      objectKey,
      bytes,
      columns: mapped.columns,
      header: header.cells,
      warnings: keptWarnings([...upload.warnings, ...mapped.warnings]),
      total: upload.total,
      processed: 0,
      created: 0,
      updated: 0,
      unchanged: 0,
      failed: 0,
      position: header.endByte,
      line: header.endLine,
      chunks: 0,
      chunkRows: null,
      error: null,
      createdAt: at,
      updatedAt: at,
      completedAt: null,
    };
    // The slot is claimed by the insert itself, counting in the same statement: of uploads
    // racing for the last slot one inserts, and the others (whose count comes after it) do not.
    const [claimed] = await insertWhere(
      db,
      imports,
      row,
      sql`${runningCount(caller.workspaceId)} < ${MAX_RUNNING_IMPORTS}`,
    ).returning({ id: imports.id });
    if (!claimed) throw tooManyImports();
    return row;
  } catch (err) {
    await env.IMPORTS.delete(objectKey);
    throw err;
  }
}

const runningCount = (workspaceId: string) =>
  sql`(select count(*) from ${imports} where ${imports.workspaceId} = ${workspaceId} and ${imports.status} = 'running')`;

/**
 * 429 before the upload is read when the workspace's slots are taken (the insert claims
 * one for good, see startImport). A running import that stopped moving is queued again
 * meanwhile, so one whose message was lost does not hold its slot forever.
 */
async function assertSlotFree(env: Env, db: Db, workspaceId: string) {
  const running = await db
    .select({ id: imports.id, workspaceId: imports.workspaceId, status: imports.status, updatedAt: imports.updatedAt })
    .from(imports)
    .where(and(eq(imports.workspaceId, workspaceId), eq(imports.status, "running")));
  if (running.length < MAX_RUNNING_IMPORTS) return;
  // Best effort: the answer is 429 either way.
  await Promise.allSettled(running.map((row) => resumeIfStalled(env, row)));
  throw tooManyImports();
}

/** Hands the import to the queue consumer; if that fails the import is marked failed. */
export async function enqueue(env: Env, db: Db, row: ImportRow) {
  try {
    await env.IMPORT_QUEUE.send({ importId: row.id, workspaceId: row.workspaceId } satisfies ImportMessage);
  } catch (err) {
    const at = new Date().toISOString();
    await db
      .update(imports)
      .set({ status: "failed", error: "The import could not be queued.", updatedAt: at, completedAt: at })
      .where(eq(imports.id, row.id));
    throw err;
  }
}

async function readUpload(request: Request): Promise<Upload> {
  const type = (request.headers.get("Content-Type") ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  if (!request.body) throw new ApiError(422, "validation_failed", "Send the file as the request body.");
  if (type === "text/csv" || type === "application/csv") {
    return { source: "csv", body: request.body, total: null, warnings: [] };
  }
  if (/^application\/([\w.-]+\+)?json$/.test(type)) return jsonAsCsv(await readJson(request.body));
  throw new ApiError(415, "unsupported_media_type", "Send text/csv, or application/json with {members: [...]}.");
}

async function readJson(body: ReadableStream<Uint8Array>): Promise<unknown> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of chunksOf(body)) {
    size += chunk.byteLength;
    if (size > MAX_JSON_BYTES) throw tooLarge(MAX_JSON_BYTES);
    chunks.push(chunk);
  }
  const text = new TextDecoder().decode(concat(chunks, size));
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(400, "invalid_json", "The body is not valid JSON.");
  }
}

/**
 * JSON members become CSV rows with every column, so both kinds of upload are stored,
 * resumed and checked by the same code. Labels may be an array or a "a, b" string.
 */
function jsonAsCsv(value: unknown): Upload {
  if (Array.isArray(value)) {
    throw invalidField("", "Send a JSON object {members: [...]}.");
  }
  const { members } = parseOr422(JsonImportBody, value);
  const known = new Set<string>([...FIELDS, "attributes"]);
  const unknown = new Set<string>();
  // One `attributes.<key>` column per key any member names.
  const keys = [...new Set(members.flatMap((m) => Object.keys(m.attributes ?? {})))].sort();
  const header = encoder.encode(
    csvLine([...FIELDS.map((f) => COLUMN_NAME[f]), ...keys.map((key) => `${ATTRIBUTE_PREFIX}${key}`)]),
  );
  const lines = [header];
  let size = header.byteLength;
  members.forEach((member, i) => {
    for (const key of Object.keys(member)) if (!known.has(key)) unknown.add(key);
    const line = memberLine(member, i, keys);
    lines.push(line);
    size += line.byteLength;
  });
  const bytes = concat(lines, size);
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(bytes);
      controller.close();
    },
  });
  const warnings = [...unknown].map((key) => unknownColumn("field", key));
  return { source: "json", body, total: members.length, warnings };
}

const encoder = new TextEncoder();

/**
 * A member as a CSV record. The CSV reader stops a file at a record over
 * MAX_RECORD_BYTES, after committing the rows before it (worker/imports/csv.ts); a JSON
 * body is whole in hand, so such a member is refused here instead, before anything is
 * stored.
 */
function memberLine(member: JsonImportMember, index: number, keys: readonly string[]): Uint8Array {
  const attributes = keys.map((key) => {
    const value = member.attributes?.[key];
    return value === undefined || value === null ? "" : attributeCell(value);
  });
  const line = encoder.encode(
    csvLine([
      ...FIELDS.map((f) => {
        const cell = member[f];
        return Array.isArray(cell) ? cell.join(",") : cell;
      }),
      ...attributes,
    ]),
  );
  if (line.byteLength > MAX_RECORD_BYTES) {
    throw invalidField(`members.${index}`, `Longer than ${MAX_RECORD_BYTES} bytes as a CSV row.`);
  }
  return line;
}

/**
 * Streams the body into R2 in equal parts (multipart) and answers its size; a body of
 * one part is a plain put. Past MAX_UPLOAD_BYTES it stops reading and answers 413.
 */
async function storeUpload(bucket: R2Bucket, key: string, body: ReadableStream<Uint8Array>): Promise<number> {
  let part = new Uint8Array(PART_BYTES);
  let filled = 0;
  let size = 0;
  let upload: R2MultipartUpload | undefined;
  const parts: R2UploadedPart[] = [];
  const flush = async () => {
    upload ??= await bucket.createMultipartUpload(key, { httpMetadata: { contentType: "text/csv" } });
    parts.push(await upload.uploadPart(parts.length + 1, part.subarray(0, filled)));
    part = new Uint8Array(PART_BYTES);
    filled = 0;
  };
  try {
    for await (const chunk of chunksOf(body)) {
      size += chunk.byteLength;
      if (size > MAX_UPLOAD_BYTES) throw tooLarge(MAX_UPLOAD_BYTES);
      let offset = 0;
      while (offset < chunk.byteLength) {
        const n = Math.min(PART_BYTES - filled, chunk.byteLength - offset);
        part.set(chunk.subarray(offset, offset + n), filled);
        filled += n;
        offset += n;
        if (filled === PART_BYTES) await flush();
      }
    }
    if (!upload) {
      await bucket.put(key, part.subarray(0, filled), { httpMetadata: { contentType: "text/csv" } });
      return size;
    }
    if (filled > 0) await flush();
    await upload.complete(parts);
    return size;
  } catch (err) {
    await upload?.abort().catch(() => {});
    throw err;
  }
}

/** The first record of the stored file. */
async function readHeader(bucket: R2Bucket, key: string) {
  const object = await bucket.get(key);
  if (!object) throw new Error(`upload ${key} vanished`);
  try {
    for await (const record of readRecords(object.body, { byte: 0, line: 0 })) {
      if (record.cells.some((c) => c.trim() !== "")) return record;
    }
  } catch (err) {
    if (err instanceof CsvFileError) {
      throw new ApiError(422, "invalid_csv", `The header cannot be read: ${err.message}`);
    }
    throw err;
  }
  throw new ApiError(422, "invalid_csv", "The file is empty: the first row must name the columns.", {
    issues: [{ path: "header", message: "No header row." }],
  });
}

/** A stream's chunks; stopping early cancels the stream. */
async function* chunksOf(stream: ReadableStream<Uint8Array>) {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

function concat(chunks: Uint8Array[], size: number) {
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}
