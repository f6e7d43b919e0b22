// The baselines of `npm run bench:import`, both in Node 22's built-in node:sqlite, both
// reading the same CSV with csv-parse:
// - floor: the rows into a plain table with unique indexes on the three identifiers, in
//   one transaction (what issue 7 measures against);
// - schemaFloor: the rows into this project's own schema (every migration applied: the
//   members' indexes, the label, pair and search rows their triggers keep, the events'
//   index), by the statements a chunk runs (worker/imports/chunk.ts), a transaction per
//   chunk. What the schema alone costs in the floor's engine, before any Worker, queue,
//   R2 or D1: the rest of an import's time is ours.
import { createReadStream, readdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { parse } from "csv-parse";
import { parsePhoneNumberFromString } from "libphonenumber-js";
import { FOLLOWING_TRIGGERS, swapStatements } from "../worker/upgrades/lean-members.ts";

/** Reads `file` with csv-parse and inserts every row into a fresh SQLite file in one transaction. */
export async function floor(file, dbFile) {
  const db = freshDatabase(dbFile);
  db.exec(`
    CREATE TABLE members (
      id INTEGER PRIMARY KEY, workspace_id TEXT NOT NULL, email TEXT, phone TEXT, external_id TEXT,
      name TEXT, description TEXT, labels TEXT
    );
    CREATE UNIQUE INDEX members_email ON members (workspace_id, email);
    CREATE UNIQUE INDEX members_phone ON members (workspace_id, phone);
    CREATE UNIQUE INDEX members_external_id ON members (workspace_id, external_id);
  `);
  const insert = db.prepare(
    "INSERT INTO members (workspace_id, email, phone, external_id, name, description, labels) VALUES ('ws', ?, ?, ?, ?, ?, ?)",
  );
  // Reading and parsing alone, for the record; the floor's time is that and the inserts.
  const parseStarted = performance.now();
  for await (const _ of csvRows(file)) {
    // just parse
  }
  const parseSeconds = (performance.now() - parseStarted) / 1000;
  const started = performance.now();
  let rows = 0;
  try {
    await inTransaction(db, async () => {
      for await (const [email, phone, externalId, name, description, labels] of csvRows(file)) {
        insert.run(email, phone, externalId, name, description || null, labels || null);
        rows++;
      }
    });
  } finally {
    db.close();
  }
  return { rows, seconds: (performance.now() - started) / 1000, parseSeconds };
}

/**
 * Reads `file` and inserts its rows as new members of one workspace into a fresh SQLite
 * file with `migrations` applied, `chunkRows` a transaction, each chunk by the import's
 * member insert (a JSON parameter through json_each, so the triggers write the members'
 * label, pair and search rows) and its member.created events. Not a chunk's other
 * statements: its reads of known members, its new labels, its own bookkeeping.
 */
export async function schemaFloor(file, dbFile, migrations, chunkRows) {
  const db = freshDatabase(dbFile);
  try {
    for (const name of readdirSync(migrations)
      .filter((f) => f.endsWith(".sql"))
      .sort()) {
      db.exec(readFileSync(path.join(migrations, name), "utf8"));
    }
    // The online upgrades migrations start, on an empty database: their swap alone.
    for (const statement of swapStatements(db.prepare(FOLLOWING_TRIGGERS).all())) db.exec(statement);
    const commit = chunkCommitter(db);
    const started = performance.now();
    let rows = 0;
    let chunk = [];
    for await (const cells of csvRows(file)) {
      chunk.push(newMember(++rows, cells));
      if (chunk.length === chunkRows) {
        await commit(chunk);
        chunk = [];
      }
    }
    if (chunk.length > 0) await commit(chunk);
    const searchRows = db.prepare("select count(*) as n from members_by_term").get().n;
    return { rows, seconds: (performance.now() - started) / 1000, sqlSeconds: commit.seconds(), searchRows };
  } finally {
    db.close();
  }
}

/** Commits a chunk of new members as worker/imports/chunk.ts inserts them and their events; counts the time it takes. */
function chunkCommitter(db) {
  const at = new Date().toISOString();
  const insertMembers = db.prepare(`insert into members
      (id, workspace_id, name, email, phone, phone_national, external_id, description, role, type, status, labels, created_at, updated_at)
    select u.value ->> 'id', 'ws', u.value ->> 'name', u.value ->> 'email', u.value ->> 'phone',
      u.value ->> 'phoneNational', u.value ->> 'externalId', u.value ->> 'description', 'user', 'customer', 'active',
      json(u.value -> 'labels'), ?1, ?1
    from json_each(?2) as u`);
  const appendEvents = db.prepare(`insert into events (workspace_id, seq, type, at, data)
    select 'ws', (select coalesce(max(seq), 0) from events where workspace_id = 'ws') + row_number() over (order by e.key),
      'member.created', ?1, json_object('member', json(members.json), 'importId', 'imp')
    from json_each(?2) as e join members on members.id = e.value
    order by e.key`);
  let seconds = 0;
  const commit = async (people) => {
    const members = JSON.stringify(people);
    const ids = JSON.stringify(people.map((p) => p.id));
    const started = performance.now();
    await inTransaction(db, () => {
      insertMembers.run(at, members);
      appendEvents.run(at, ids);
    });
    seconds += (performance.now() - started) / 1000;
  };
  commit.seconds = () => seconds;
  return commit;
}

/** The member a CSV row makes (`n`: its rank, for a time-ordered id as newId's are), read as worker/imports/rows.ts reads it. */
function newMember(n, [email, phone, externalId, name, description, labels]) {
  const parsed = parsePhoneNumberFromString(phone);
  const valid = parsed?.isValid();
  return {
    id: `mem_${String(n).padStart(26, "0")}`,
    email,
    phone: valid ? parsed.number : null,
    phoneNational: valid ? parsed.nationalNumber : null,
    externalId,
    name,
    description: description || null,
    labels: labelSlugs(labels),
  };
}

/** A labels cell as an import reads it (worker/imports/rows.ts): split on , or ;, slugs, once each, sorted. */
const labelSlugs = (cell) =>
  [
    ...new Set(
      cell
        .split(/[,;]/)
        .map((name) =>
          name
            .trim()
            .toLowerCase()
            .replace(/[^a-z0-9]+/g, "-")
            .replace(/^-+|-+$/g, ""),
        )
        .filter(Boolean),
    ),
  ].sort();

const csvRows = (file) => createReadStream(file).pipe(parse({ from_line: 2 }));

function freshDatabase(dbFile) {
  for (const suffix of ["", "-journal", "-wal", "-shm"]) rmSync(`${dbFile}${suffix}`, { force: true });
  return new DatabaseSync(dbFile);
}

async function inTransaction(db, work) {
  db.exec("BEGIN");
  try {
    await work();
    db.exec("COMMIT");
  } catch (err) {
    db.exec("ROLLBACK");
    throw err;
  }
}
