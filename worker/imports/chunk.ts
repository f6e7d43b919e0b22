import { and, eq, type SQL, sql } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import { actingAs, currentActorJson } from "../events/acting";
import { events } from "../events/table";
import { DEFAULT_COLOR, labelsCreatedBefore } from "../labels/ensure";
import { deletingAmong, deletingLabels } from "../labels/guard";
import { labels } from "../labels/table";
import { BatchSizer, giveWay, logBatch, type SizeBounds } from "../lib/bounded";
import { type Db, d1Statement, database } from "../lib/db";
import { jsonArrayParts } from "../lib/json-parts";
import { isCheckViolation, isUniqueViolation } from "../lib/sqlite-errors";
import { memberJson } from "../members/json";
import { members } from "../members/table";
import { actorChangeRefusal } from "../reach/actor-fields";
import { guardRowsStayInReach, reachableRows, reaches, reachOf } from "../reach/reach";
import { roles } from "../roles/table";
import { shardOf } from "../shards/directory";
import { firstShard } from "../shards/shards";
import { type CsvFileError, type CsvRecord, ROW_TOO_LONG, recordsIn, windowBytes } from "./csv";
import { checkImporter, type Importer, importerChanged, readImporter } from "./importer";
import type { ImportMessage } from "./message";
import { type KnownMember, type Person, planChunk, type RoleInfo } from "./resolve";
import { type ParsedRow, parseRow } from "./rows";
import { type ImportRow, importChunks, importErrors, imports } from "./table";

/**
 * Rows and raw bytes read from R2 at a time (a window): each chunk also costs fixed reads
 * (the import twice, roles, reach, the R2 range) and a live announcement, which a window
 * pays once for all its chunks. Long rows make a window of fewer rows.
 */
export const WINDOW_ROWS = 5000;
export const WINDOW_BYTES = 512 * 1024;
/**
 * Rows per chunk. A chunk is one D1 transaction, and D1 runs one at a time for every
 * workspace on the database: its rows are sized from the D1 time of the chunks before
 * (../lib/bounded.ts, toward 50 ms), within these bounds, starting from the import's
 * stored `chunkRows`, or CHUNK_ROWS_START for its first chunk. (One batch of 5,000 rows
 * took 1.2 s and stalled every other workspace's writes for as long.) Rows travel as
 * JSON parameters (so the 100-parameter limit never binds), each at most JSON_PART_BYTES
 * (../lib/json-parts.ts: a statement per part, under D1's 2 MB for a value).
 */
export const CHUNK_ROWS: SizeBounds = { min: 20, max: WINDOW_ROWS };
export const CHUNK_ROWS_START = 100;
/** Attempts at a chunk that lost a race to a concurrent member write before giving up for now. */
const ATTEMPTS = 3;

export type ChunkResult =
  /** The import was already finished (or gone): nothing to do. */
  | { kind: "idle"; row: ImportRow | undefined }
  /** Chunks committed; `row` is the import after the last. */
  | { kind: "committed"; row: ImportRow }
  /** Another invocation committed a chunk this one was about to: this one stops. */
  | { kind: "raced"; row: ImportRow };

const prepareLoad = (db: Db) =>
  db
    .select()
    .from(imports)
    .where(eq(imports.id, sql.placeholder("id")))
    .prepare();
/** Built once per drizzle instance: building a select of every column cost more CPU than D1 took to run it. */
const loads = new WeakMap<Db, ReturnType<typeof prepareLoad>>();

export const loadImport = async (db: Db, id: string) => {
  let load = loads.get(db);
  if (!load) {
    load = prepareLoad(db);
    loads.set(db, load);
  }
  return (await load.all({ id }))[0];
};

/**
 * Reads the next window of rows from R2 at the import's stored position and commits it
 * a chunk at a time, until the window ends or `deadline` (ms since the epoch) passes.
 * Each chunk is ONE batch: its members, their events, its failed rows and the new
 * position. A crash before a chunk's batch loses nothing (the position did not move); a
 * crash after it repeats nothing (the position did move, and a concurrent second attempt
 * at the same chunk fails on `import_chunks`' primary key). The import is on its
 * workspace's shard; without `workspaceId` (a message queued before shards), on shard 0.
 */
export async function processWindow(
  env: Env,
  { importId, workspaceId }: ImportMessage,
  deadline = Number.POSITIVE_INFINITY,
) {
  const shard = workspaceId === undefined ? firstShard(env) : await shardOf(env, workspaceId);
  if (!shard) return { kind: "idle", row: undefined } as const;
  const d1 = shard.d1;
  const db = database(d1);
  let committed: ImportRow | undefined;
  for (let attempt = 1; ; attempt++) {
    const job = await loadImport(db, importId);
    if (job?.status !== "running") {
      return committed && job ? ({ kind: "committed", row: job } as const) : ({ kind: "idle", row: job } as const);
    }
    try {
      // Its events name the import and its importer (worker/events/actor.ts).
      const actor = { type: "import", id: job.id, by: { id: job.createdBy } } as const;
      const row = await actingAs(actor, () => commitWindow(env, d1, db, job, deadline));
      return { kind: "committed", row } as const;
    } catch (err) {
      const now = (await loadImport(db, importId)) ?? job;
      if (isUniqueViolation(err, "import_chunks")) return { kind: "raced", row: now } as const;
      // A member changed, or an identifier was taken, between our read and our batch.
      // Or, under a role condition, a member left its reach (`forbidden_by_condition`, see commitChunk).
      // Or a label the chunk names began its deletion (then its rows fail, see planChunk).
      const lostRace =
        isCheckViolation(err, "import_chunks_fresh") ||
        isUniqueViolation(err, "members") ||
        isCheckViolation(err, "forbidden_by_condition");
      // Attempts count those without progress: chunks committed before the race stay committed.
      if (now.chunks > job.chunks) {
        committed = now;
        attempt = 0;
      }
      if (!lostRace || attempt >= ATTEMPTS) throw err;
    }
  }
}

/** What a window's chunks share: read once, and checked again inside every chunk's batch. */
type WindowContext = {
  roleRows: Map<string, RoleInfo>;
  importer: Importer;
  reach: Awaited<ReturnType<typeof reachOf>>;
  deleting: Set<string>;
  bytes: Uint8Array;
  /** Where the window starts in the file, and whether it ends the file. */
  start: number;
  final: boolean;
  /** Records its chunks have taken so far (at most WINDOW_ROWS). */
  records: number;
};

/** A chunk's rows, parsed from the window: what its batch commits, and where it ends. */
type ChunkRows = {
  records: CsvRecord[];
  rows: ParsedRow[];
  /** An unreadable spot after its records: the next chunk fails the import there. */
  failure?: CsvFileError;
};

/**
 * Commits the window's chunks; answers the import as the last one left it. Each chunk's
 * batch ends by reading the members the next chunk's rows name, as the batch left them,
 * so a chunk costs one round trip to D1.
 */
async function commitWindow(env: Env, d1: D1Database, db: Db, first: ImportRow, deadline: number): Promise<ImportRow> {
  const [roleRows, importerRow, deleting] = await Promise.all([
    workspaceRoles(db, first),
    readImporter(db, first),
    deletingLabels(db, first.workspaceId),
  ]);
  const importerNow = checkImporter(first, importerRow, roleRows);
  if ("refusal" in importerNow) return fail(db, first, importerNow.refusal);
  const length = Math.min(windowBytes(WINDOW_BYTES), first.bytes - first.position);
  const object =
    length > 0 ? await env.IMPORTS.get(first.objectKey, { range: { offset: first.position, length } }) : undefined;
  if (object === null) return fail(db, first, "The uploaded file is gone.");
  const bytes = object ? new Uint8Array(await object.arrayBuffer()) : new Uint8Array();
  const importer = { workspaceId: first.workspaceId, memberId: first.createdBy, condition: importerNow.condition };
  // The importer's role condition as it stands now, as for their own API writes.
  const reach = await reachOf(db, importer);
  const window: WindowContext = {
    roleRows,
    importer: importerNow,
    reach,
    deleting,
    bytes,
    start: first.position,
    final: first.position + length >= first.bytes,
    records: 0,
  };
  const sizer = new BatchSizer(CHUNK_ROWS, first.chunkRows ?? CHUNK_ROWS_START);
  let job = first;
  let chunk = nextRows(window, job, sizer.size);
  let known = typeof chunk === "string" ? [] : await readKnown(db, job.workspaceId, chunk.rows);
  for (;;) {
    if (chunk === "window ended") return job;
    if (typeof chunk === "string") return fail(db, job, chunk);
    const committed = await commitChunk(env, d1, db, job, window, sizer, chunk, known);
    job = committed.job;
    chunk = committed.next;
    known = committed.known;
    if (job.status !== "running" || Date.now() >= deadline) return job;
    await giveWay();
  }
}

/**
 * The next chunk's rows: up to `size` records of the window from the import's position;
 * "window ended" when the window holds no whole record more (the next window reads from
 * the position), or why the import fails there.
 */
function nextRows(
  window: WindowContext,
  job: Pick<ImportRow, "position" | "line" | "processed" | "source" | "columns">,
  size: number,
): ChunkRows | "window ended" | string {
  const offset = job.position - window.start;
  const budget = { bytes: WINDOW_BYTES - offset, records: WINDOW_ROWS - window.records };
  if (offset > 0 && (budget.bytes <= 0 || budget.records <= 0 || offset >= window.bytes.length)) return "window ended";
  const bytes = window.bytes.subarray(offset);
  const { records, error: failure } = recordsIn(
    bytes,
    { byte: job.position, line: job.line },
    { final: window.final, maxRecords: Math.min(size, budget.records), maxBytes: budget.bytes },
  );
  // Rows before an unreadable spot are still imported; the next chunk then fails the import.
  if (failure && records.length === 0) return `Line ${failure.line}: ${failure.message}`;
  // A window holds a whole record of the longest kind (./csv.ts refuses longer ones), so only
  // blank lines, or a record too long to fit, leave it empty. Past its first chunk, the rest
  // of a window may hold only the start of a record: the next window reads it whole.
  if (records.length === 0 && !window.final) {
    if (offset > 0) return "window ended";
    const blank = leadingLineBreaks(bytes);
    if (blank.bytes === bytes.length) return `Line ${job.line + 1}: ${bytes.length} bytes of blank lines.`;
    return `Line ${job.line + 1 + blank.lines}: ${ROW_TOO_LONG}`;
  }
  return { records, rows: parsedRows(job, records), failure };
}

function parsedRows(job: Pick<ImportRow, "processed" | "source" | "columns">, records: CsvRecord[]) {
  const rowNumber = (r: CsvRecord, i: number) => (job.source === "json" ? job.processed + i + 1 : r.line);
  return (
    records
      // In a CSV, rows of only empty cells (",,,") are blank lines to a spreadsheet: skipped, not counted.
      .filter((r) => job.source === "json" || r.cells.some((c) => c.trim() !== ""))
      .map((r, i) => parseRow(rowNumber(r, i), r.cells, job.columns))
  );
}

/** The first `size` records of a chunk parsed ahead, when the last batch made the size smaller. */
function cut(job: Pick<ImportRow, "processed" | "source" | "columns">, chunk: ChunkRows, size: number): ChunkRows {
  if (chunk.records.length <= size) return chunk;
  const records = chunk.records.slice(0, size);
  // Its unreadable spot, if any, lies after the records cut off: the next chunk finds it again.
  return { records, rows: parsedRows(job, records) };
}

/**
 * Decides each row of the chunk against the members it names (`known`, as the last batch
 * left them) and commits them in one batch, which also reads the members the next chunk's
 * rows name; answers the import after it, the next chunk (cut to the size the batch's D1
 * time gives) and its members.
 */
async function commitChunk(
  env: Env,
  d1: D1Database,
  db: Db,
  job: ImportRow,
  window: WindowContext,
  sizer: BatchSizer,
  chunk: ChunkRows,
  known: KnownMember[],
) {
  const { records, rows, failure } = chunk;
  window.records += records.length;
  const { importer, reach } = window;
  const plan = planChunk(rows, known, {
    role: job.role,
    callerScopes: importer.scopes,
    callerCondition: importer.condition,
    roles: window.roleRows,
    reaches: (member) => reaches(reach, member),
    actorRefusal: (before, after) => actorChangeRefusal(reach, before, after),
    deletingLabels: window.deleting,
  });

  const last = records[records.length - 1];
  const end = last ? { byte: last.endByte, line: last.endLine } : { byte: job.bytes, line: job.line };
  const done = !failure && (end.byte >= job.bytes || records.length === 0);
  const at = new Date().toISOString();
  const ws = job.workspaceId;
  const created = plan.writes.filter((p) => p.isNew);
  const updated = plan.writes.filter((p) => !p.isNew);
  const named = JSON.stringify([...new Set(plan.writes.flatMap((p) => p.labels))]);
  // The import as this batch leaves it: the batch fails unless the import is running as read
  // (its status, and no other chunk under this number), so no read of it is needed after.
  const after: ImportRow = {
    ...job,
    processed: job.processed + rows.length,
    created: job.created + plan.counts.created,
    updated: job.updated + plan.counts.updated,
    unchanged: job.unchanged + plan.counts.unchanged,
    failed: job.failed + plan.counts.failed,
    position: end.byte,
    line: end.line,
    chunks: job.chunks + 1,
    chunkRows: sizer.size,
    updatedAt: at,
    ...(done ? { status: "completed", total: job.processed + rows.length, completedAt: at } : {}),
  };
  // Parsed now, with the size as it stands, so that this batch can read the members it names.
  const next = done || failure ? undefined : nextRows(window, after, sizer.size);
  // The plan judged rows in JS against the members as read; the batch judges them again as
  // it finds them (stale) and as it leaves them (the guard), so a concurrent change that
  // hides a member makes the chunk retry, and the retry refuses those rows as row errors.
  // So does a label it names whose deletion began meanwhile (./resolve.ts `deletingLabels`).
  const within = reachableRows(reach);
  const guard =
    within &&
    guardRowsStayInReach(
      ws,
      plan.writes.map((p) => p.id),
      within,
    );
  const notRunning = sql`(select count(*) from ${imports} where ${imports.id} = ${job.id} and ${imports.status} != 'running')`;

  const sent = Date.now();
  const results = await d1.batch(
    [
      db.insert(importChunks).values({
        importId: job.id,
        chunk: after.chunks,
        startByte: job.position,
        endByte: end.byte,
        rows: rows.length,
        stale: sql`${staleCount(ws, updated, within)} + ${importerChanged(job, importer.seen)}
          + ${deletingAmong(ws, named)} + ${notRunning}`,
        at,
      }),
      ...updateMembers(ws, updated, at),
      ...insertMembers(ws, created, at),
      appendMemberEvents(ws, job.id, plan.writes, at),
      ...(guard ? [guard] : []),
      ...ensureLabelsOf(ws, named, at),
      ...insertFailures(job.id, plan.failures),
      db
        .update(imports)
        .set({
          processed: after.processed,
          created: after.created,
          updated: after.updated,
          unchanged: after.unchanged,
          failed: after.failed,
          position: after.position,
          line: after.line,
          chunks: after.chunks,
          chunkRows: after.chunkRows,
          updatedAt: at,
          ...(done ? { status: "completed", total: after.total, completedAt: at } : {}),
        })
        .where(eq(imports.id, job.id)),
      ...(next && typeof next !== "string" ? [knownMembers(db, ws, next.rows)] : []),
    ].map((q) => d1Statement(d1, q)),
  );
  // The batch's round trip: D1's time, its commit (which meta.duration leaves out) and the way there and back.
  const wallMs = Date.now() - sent;
  const ms = sizer.record(results, records.length);
  logBatch(env, "import", { import: job.id, chunk: after.chunks, rows: records.length, ms, wallMs });
  if (!next || typeof next === "string") return { job: after, next: next ?? "window ended", known: [] };
  const read = results.at(-1)?.results as RawMember[] | undefined;
  return { job: after, next: cut(after, next, sizer.size), known: (read ?? []).map(knownMember) };
}

/** The blank lines a window starts with: their bytes, and how many lines (CRLF, LF or CR each end one). */
function leadingLineBreaks(bytes: Uint8Array) {
  let i = 0;
  let lines = 0;
  for (; i < bytes.length && (bytes[i] === 0x0a || bytes[i] === 0x0d); i++) {
    if (bytes[i] === 0x0a || bytes[i + 1] !== 0x0a) lines++;
  }
  return { bytes: i, lines };
}

/** Fails the import; answers it as failed. */
async function fail(db: Db, job: ImportRow, error: string): Promise<ImportRow> {
  const at = new Date().toISOString();
  const change = { status: "failed", error, total: job.processed, updatedAt: at, completedAt: at } as const;
  await db.update(imports).set(change).where(eq(imports.id, job.id));
  return { ...job, ...change };
}

/**
 * Every member holding one of the chunk's identifiers: one read, three JSON parameters.
 * Three index lookups joined by UNION: an OR of the three IN lists makes SQLite scan
 * every member of the workspace instead, so each chunk got slower as the table grew.
 * The query, for a batch (./chunk.ts reads it at the end of the chunk before) or `readKnown`.
 */
function knownMembers(db: Db, workspaceId: string, rows: ParsedRow[]) {
  const holding = (column: SQLiteColumn, pick: (v: ParsedRow["values"]) => string | undefined) =>
    db
      .select({
        id: members.id,
        email: members.email,
        phone: members.phone,
        phoneNational: members.phoneNational,
        externalId: members.externalId,
        name: members.name,
        description: members.description,
        labels: members.labels,
        attributes: members.attributes,
        role: members.role,
        type: members.type,
        status: members.status,
        updatedAt: members.updatedAt,
      })
      .from(members)
      .where(
        and(
          eq(members.workspaceId, workspaceId),
          sql`${column} in (select value from json_each(${JSON.stringify([...new Set(rows.flatMap((r) => pick(r.values) ?? []))])}))`,
        ),
      );
  return holding(members.email, (v) => v.email)
    .union(holding(members.externalId, (v) => v.externalId))
    .union(holding(members.phone, (v) => v.phone));
}

/** A row of `knownMembers` as D1 answers it outside drizzle: SQL's column names. */
type RawMember = Omit<KnownMember, "phoneNational" | "externalId" | "updatedAt" | "labels" | "attributes"> & {
  phone_national: string | null;
  external_id: string | null;
  updated_at: string;
  labels: string;
  attributes: string | null;
};

const knownMember = ({
  phone_national,
  external_id,
  updated_at,
  labels,
  attributes,
  ...rest
}: RawMember): KnownMember => ({
  ...rest,
  phoneNational: phone_national,
  externalId: external_id,
  updatedAt: updated_at,
  labels: JSON.parse(labels) as string[],
  attributes: attributes === null ? {} : (JSON.parse(attributes) as KnownMember["attributes"]),
});

/** `knownMembers` read on its own: for a window's first chunk. */
async function readKnown(db: Db, workspaceId: string, rows: ParsedRow[]): Promise<KnownMember[]> {
  const { results } = await d1Statement(db.$client, knownMembers(db, workspaceId, rows)).all<RawMember>();
  return results.map(knownMember);
}

async function workspaceRoles(db: Db, job: ImportRow): Promise<Map<string, RoleInfo>> {
  const rows = await db
    .select({ key: roles.key, type: roles.type, scopes: roles.scopes, condition: roles.condition })
    .from(roles)
    .where(eq(roles.workspaceId, job.workspaceId));
  return new Map(rows.map((r) => [r.key, r]));
}

const personParts = (people: Person[]) =>
  jsonArrayParts(
    people.map((p) => ({
      id: p.id,
      seen: p.seen,
      name: p.name,
      email: p.email,
      phone: p.phone,
      phoneNational: p.phoneNational,
      externalId: p.externalId,
      description: p.description,
      labels: p.labels,
      attributes: p.attributes,
      role: p.role,
      type: p.type,
    })),
  );

/**
 * Members among `updated` whose row changed since the chunk read it (updatedAt moved), or
 * that the importer's role condition (`within`) does not reach as the batch finds them.
 * The chunk row's CHECK (stale = 0) turns any into a failed batch.
 */
function staleCount(workspaceId: string, updated: Person[], within?: SQL) {
  return sql`(select count(*) from json_each(${JSON.stringify(updated.map((p) => ({ id: p.id, seen: p.seen })))}) as u
    left join ${members} on ${members.id} = u.value ->> 'id' and ${members.workspaceId} = ${workspaceId}
    where ${members.updatedAt} is not u.value ->> 'seen'${within ? sql` or not ${within}` : sql``})`;
}

function updateMembers(workspaceId: string, updated: Person[], at: string) {
  return personParts(updated).map(
    (people) => sql`update ${members} set
      name = u.value ->> 'name', description = u.value ->> 'description',
      email = u.value ->> 'email', phone = u.value ->> 'phone', phone_national = u.value ->> 'phoneNational',
      external_id = u.value ->> 'externalId', labels = json(u.value -> 'labels'),
      attributes = nullif(json(u.value -> 'attributes'), '{}'), updated_at = ${at}
    from json_each(${people}) as u
    where ${members.id} = u.value ->> 'id' and ${members.workspaceId} = ${workspaceId}`,
  );
}

function insertMembers(workspaceId: string, created: Person[], at: string) {
  return personParts(created).map(
    (people) => sql`insert into ${members}
      (id, workspace_id, name, email, phone, phone_national, external_id, description, role, type, status, labels, attributes, created_at, updated_at)
    select u.value ->> 'id', ${workspaceId}, u.value ->> 'name', u.value ->> 'email', u.value ->> 'phone',
      u.value ->> 'phoneNational', u.value ->> 'externalId', u.value ->> 'description', u.value ->> 'role',
      u.value ->> 'type', 'active', json(u.value -> 'labels'), nullif(json(u.value -> 'attributes'), '{}'), ${at}, ${at}
    from json_each(${people}) as u`,
  );
}

function insertFailures(importId: string, failures: unknown[]) {
  return jsonArrayParts(failures).map(
    (part) => sql`insert into ${importErrors} (import_id, row, errors, cells)
      select ${importId}, e.value ->> 'row', json(e.value -> 'errors'), json(e.value -> 'cells')
      from json_each(${part}) as e`,
  );
}

/**
 * One member.created or member.updated event per member the chunk wrote, in the order
 * of their first row, built from the rows as the batch left them; after an update that
 * gave labels, a member.labeled naming them (the stale check makes `labelsRead` the
 * labels the batch replaced). Seqs continue the log without gaps: max(seq) is read once,
 * before the insert, plus each row's rank.
 */
function appendMemberEvents(workspaceId: string, importId: string, writes: Person[], at: string) {
  const list = JSON.stringify(writes.flatMap(memberEvents));
  const head = sql`(select coalesce(max(${events.seq}), 0) from ${events} where ${events.workspaceId} = ${workspaceId})`;
  // json_patch drops the `labels` of events without them (a null member of a merge patch).
  const data = sql`json_patch(json_object('member', json(${memberJson}), 'importId', ${importId}),
    json_object('labels', e.value -> 'labels'))`;
  return sql`insert into ${events} (workspace_id, seq, type, at, data, actor)
    select ${workspaceId}, ${head} + row_number() over (order by e.key), e.value ->> 'type', ${at}, ${data},
      ${currentActorJson()}
    from json_each(${list}) as e join ${members} on ${members.id} = e.value ->> 'id'
    order by e.key`;
}

function memberEvents(p: Person) {
  if (p.isNew) return [{ id: p.id, type: "member.created" }];
  const given = p.labels.filter((label) => !p.labelsRead.includes(label));
  const updated = { id: p.id, type: "member.updated" };
  return given.length === 0 ? [updated] : [updated, { id: p.id, type: "member.labeled", labels: given }];
}

/** Creates the labels the chunk uses (`slugs`, a JSON array) that do not exist yet, with their label.created (as ../labels/ensure.ts does for one write). */
function ensureLabelsOf(workspaceId: string, slugs: string, at: string) {
  return [labelsCreatedBefore(workspaceId, slugs, at), insertLabels(workspaceId, slugs, at)];
}

function insertLabels(workspaceId: string, slugs: string, at: string) {
  const nameTaken = sql`exists (select 1 from ${labels} where ${labels.workspaceId} = ${workspaceId} and ${labels.name} = s.value)`;
  return sql`insert into ${labels} (workspace_id, slug, name, color, created_at)
    select ${workspaceId}, s.value, case when ${nameTaken} then s.value || ' (' || s.value || ')' else s.value end,
      ${DEFAULT_COLOR}, ${at}
    from json_each(${slugs}) as s where true
    on conflict do nothing`;
}
