import { and, eq, type Query, type SQL, sql } from "drizzle-orm";
import { SQLiteAsyncDialect, type SQLiteColumn } from "drizzle-orm/sqlite-core";
import { events } from "../events/table";
import { DEFAULT_COLOR, labelsCreatedBefore } from "../labels/ensure";
import { labels } from "../labels/table";
import { type Db, database } from "../lib/db";
import { dbErrorText } from "../lib/errors";
import { jsonArrayParts } from "../lib/json-parts";
import { memberJson } from "../members/json";
import { members } from "../members/table";
import { actorChangeRefusal } from "../reach/actor-fields";
import { guardRowsStayInReach, reachableRows, reaches, reachOf } from "../reach/reach";
import { roles } from "../roles/table";
import { type CsvRecord, ROW_TOO_LONG, recordsIn, windowBytes } from "./csv";
import { checkImporter, importerChanged, readImporter } from "./importer";
import { type KnownMember, type Person, planChunk, type RoleInfo } from "./resolve";
import { parseRow } from "./rows";
import { type ImportRow, importChunks, importErrors, imports } from "./table";

/**
 * Rows per chunk. A chunk is one D1 batch of a handful of statements plus two reads:
 * rows travel as JSON parameters (so the 100-parameter limit never binds), each at most
 * JSON_PART_BYTES (../lib/json-parts.ts: a statement per part, under D1's 2 MB for a
 * value). Each chunk also costs fixed reads (the import twice, roles, reach, the R2
 * range), a live announcement, and above all a commit that rewrites every page its
 * members' index rows landed on: `npm run bench:import` took 17% less workerd CPU with
 * 5,000 rows a chunk than with 2,000, and no less with 10,000.
 */
export const CHUNK_ROWS = 5000;
/** Raw bytes per chunk, so that long rows make smaller chunks. */
export const CHUNK_BYTES = 512 * 1024;
/** Attempts at a chunk that lost a race to a concurrent member write before giving up for now. */
const ATTEMPTS = 3;

export type ChunkResult =
  /** The import was already finished (or gone): nothing to do. */
  | { kind: "idle"; row: ImportRow | undefined }
  /** A chunk committed; `row` is the import after it. */
  | { kind: "committed"; row: ImportRow }
  /** Another invocation committed this chunk first: this one stops. */
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
 * Reads the next chunk of rows from R2 at the import's stored position, decides each
 * row and commits the members, their events, the failed rows and the new position in
 * ONE batch. A crash before the batch loses nothing (the position did not move); a
 * crash after it repeats nothing (the position did move, and a concurrent second
 * attempt at the same chunk fails on `import_chunks`' primary key).
 */
export async function processChunk(env: Env, importId: string): Promise<ChunkResult> {
  const db = database(env.DB);
  for (let attempt = 1; ; attempt++) {
    const job = await loadImport(db, importId);
    if (job?.status !== "running") return { kind: "idle", row: job };
    try {
      await commitChunk(env, db, job);
    } catch (err) {
      const text = dbErrorText(err);
      if (text.includes("import_chunks.import_id")) {
        return { kind: "raced", row: (await loadImport(db, importId)) ?? job };
      }
      // A member changed, or an identifier was taken, between our read and our batch.
      // Or, under a role condition, a member left its reach (`forbidden_by_condition`, see commitChunk).
      const lostRace =
        text.includes("import_chunks_fresh") ||
        text.includes("UNIQUE constraint failed: members.") ||
        text.includes("forbidden_by_condition");
      if (!lostRace || attempt >= ATTEMPTS) throw err;
      continue;
    }
    const row = await loadImport(db, importId);
    if (!row) throw new Error(`import ${importId} vanished`);
    return { kind: "committed", row };
  }
}

async function commitChunk(env: Env, db: Db, job: ImportRow) {
  const [roleRows, importerRow] = await Promise.all([workspaceRoles(db, job), readImporter(db, job)]);
  const importerNow = checkImporter(job, importerRow, roleRows);
  if ("refusal" in importerNow) return fail(db, job, importerNow.refusal);
  const length = Math.min(windowBytes(CHUNK_BYTES), job.bytes - job.position);
  const object =
    length > 0 ? await env.IMPORTS.get(job.objectKey, { range: { offset: job.position, length } }) : undefined;
  if (object === null) return fail(db, job, "The uploaded file is gone.");
  const final = job.position + length >= job.bytes;
  const window = object ? new Uint8Array(await object.arrayBuffer()) : new Uint8Array();
  const { records, error: failure } = recordsIn(
    window,
    { byte: job.position, line: job.line },
    { final, maxRecords: CHUNK_ROWS, maxBytes: CHUNK_BYTES },
  );
  // Rows before an unreadable spot are still imported; the next chunk then fails the import.
  if (failure && records.length === 0) return fail(db, job, `Line ${failure.line}: ${failure.message}`);
  // A window holds a whole record of the longest kind (./csv.ts refuses longer ones), so only
  // blank lines, or a record too long to fit, leave it empty.
  if (records.length === 0 && !final) {
    const blank = leadingLineBreaks(window);
    if (blank.bytes === window.length) return fail(db, job, `Line ${job.line + 1}: ${length} bytes of blank lines.`);
    return fail(db, job, `Line ${job.line + 1 + blank.lines}: ${ROW_TOO_LONG}`);
  }

  const rowNumber = (r: CsvRecord, i: number) => (job.source === "json" ? job.processed + i + 1 : r.line);
  const rows = records
    // In a CSV, rows of only empty cells (",,,") are blank lines to a spreadsheet: skipped, not counted.
    .filter((r) => job.source === "json" || r.cells.some((c) => c.trim() !== ""))
    .map((r, i) => parseRow(rowNumber(r, i), r.cells, job.columns));
  const importer = { workspaceId: job.workspaceId, memberId: job.createdBy, condition: importerNow.condition };
  const [known, reach] = await Promise.all([
    knownMembers(db, job.workspaceId, rows),
    // The importer's role condition as it stands now, as for their own API writes.
    reachOf(db, importer),
  ]);
  const plan = planChunk(rows, known, {
    role: job.role,
    callerScopes: importerNow.scopes,
    callerCondition: importerNow.condition,
    roles: roleRows,
    reaches: (member) => reaches(reach, member),
    actorRefusal: (before, after) => actorChangeRefusal(reach, before, after),
  });

  const last = records[records.length - 1];
  const end = last ? { byte: last.endByte, line: last.endLine } : { byte: job.bytes, line: job.line };
  const done = !failure && (end.byte >= job.bytes || records.length === 0);
  const at = new Date().toISOString();
  const ws = job.workspaceId;
  const created = plan.writes.filter((p) => p.isNew);
  const updated = plan.writes.filter((p) => !p.isNew);
  const processed = job.processed + rows.length;
  // The plan judged rows in JS against the members as read; the batch judges them again as
  // it finds them (stale) and as it leaves them (the guard), so a concurrent change that
  // hides a member makes the chunk retry, and the retry refuses those rows as row errors.
  const within = reachableRows(reach);
  const guard =
    within &&
    guardRowsStayInReach(
      ws,
      plan.writes.map((p) => p.id),
      within,
    );

  const d1 = env.DB;
  await d1.batch(
    [
      db.insert(importChunks).values({
        importId: job.id,
        chunk: job.chunks + 1,
        startByte: job.position,
        endByte: end.byte,
        rows: rows.length,
        stale: sql`${staleCount(ws, updated, within)} + ${importerChanged(job, importerNow.seen)}`,
        at,
      }),
      ...updateMembers(ws, updated, at),
      ...insertMembers(ws, created, at),
      appendMemberEvents(ws, job.id, plan.writes, at),
      ...(guard ? [guard] : []),
      ...ensureLabelsOf(ws, plan.writes, at),
      ...insertFailures(job.id, plan.failures),
      db
        .update(imports)
        .set({
          processed,
          created: sql`${imports.created} + ${plan.counts.created}`,
          updated: sql`${imports.updated} + ${plan.counts.updated}`,
          unchanged: sql`${imports.unchanged} + ${plan.counts.unchanged}`,
          failed: sql`${imports.failed} + ${plan.counts.failed}`,
          position: end.byte,
          line: end.line,
          chunks: job.chunks + 1,
          updatedAt: at,
          ...(done ? { status: "completed", total: processed, completedAt: at } : {}),
        })
        .where(eq(imports.id, job.id)),
    ].map((q) => statement(d1, q)),
  );
}

const dialect = new SQLiteAsyncDialect({ casing: "snake_case" });

/**
 * A drizzle query or raw SQL as a D1 statement. The chunk's batch goes straight to D1:
 * drizzle's db.batch() cannot take raw SQL (db.run()) on D1, and set-based writes from
 * JSON need it.
 */
function statement(d1: D1Database, query: SQL | { toSQL(): Query }) {
  const { sql: text, params } = "toSQL" in query ? query.toSQL() : dialect.sqlToQuery(query);
  return d1.prepare(text).bind(...params);
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

async function fail(db: Db, job: ImportRow, error: string) {
  const at = new Date().toISOString();
  await db
    .update(imports)
    .set({ status: "failed", error, total: job.processed, updatedAt: at, completedAt: at })
    .where(eq(imports.id, job.id));
}

/**
 * Every member holding one of the chunk's identifiers: one read, three JSON parameters.
 * Three index lookups joined by UNION: an OR of the three IN lists makes SQLite scan
 * every member of the workspace instead, so each chunk got slower as the table grew.
 */
async function knownMembers(db: Db, workspaceId: string, rows: ReturnType<typeof parseRow>[]): Promise<KnownMember[]> {
  const columns = {
    id: members.id,
    email: members.email,
    phone: members.phone,
    phoneNational: members.phoneNational,
    externalId: members.externalId,
    name: members.name,
    description: members.description,
    labels: members.labels,
    role: members.role,
    type: members.type,
    status: members.status,
    updatedAt: members.updatedAt,
  };
  const holding = (column: SQLiteColumn, pick: (v: (typeof rows)[number]["values"]) => string | undefined) =>
    db
      .select(columns)
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
      external_id = u.value ->> 'externalId', labels = json(u.value -> 'labels'), updated_at = ${at}
    from json_each(${people}) as u
    where ${members.id} = u.value ->> 'id' and ${members.workspaceId} = ${workspaceId}`,
  );
}

function insertMembers(workspaceId: string, created: Person[], at: string) {
  return personParts(created).map(
    (people) => sql`insert into ${members}
      (id, workspace_id, name, email, phone, phone_national, external_id, description, role, type, status, labels, created_at, updated_at)
    select u.value ->> 'id', ${workspaceId}, u.value ->> 'name', u.value ->> 'email', u.value ->> 'phone',
      u.value ->> 'phoneNational', u.value ->> 'externalId', u.value ->> 'description', u.value ->> 'role',
      u.value ->> 'type', 'active', json(u.value -> 'labels'), ${at}, ${at}
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
  return sql`insert into ${events} (workspace_id, seq, type, at, data)
    select ${workspaceId}, ${head} + row_number() over (order by e.key), e.value ->> 'type', ${at}, ${data}
    from json_each(${list}) as e join ${members} on ${members.id} = e.value ->> 'id'
    order by e.key`;
}

function memberEvents(p: Person) {
  if (p.isNew) return [{ id: p.id, type: "member.created" }];
  const given = p.labels.filter((label) => !p.labelsRead.includes(label));
  const updated = { id: p.id, type: "member.updated" };
  return given.length === 0 ? [updated] : [updated, { id: p.id, type: "member.labeled", labels: given }];
}

/** Creates the labels the chunk uses that do not exist yet, with their label.created (as ../labels/ensure.ts does for one write). */
function ensureLabelsOf(workspaceId: string, writes: Person[], at: string) {
  const slugs = JSON.stringify([...new Set(writes.flatMap((p) => p.labels))]);
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
