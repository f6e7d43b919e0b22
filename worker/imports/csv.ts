import { CsvError, type Info, parse } from "csv-parse/stream";
import { parse as parseSync } from "csv-parse/sync";

/** A record longer than this is refused: it bounds the parser's buffer (and a chunk's memory). */
export const MAX_RECORD_BYTES = 64 * 1024;
export const ROW_TOO_LONG = `A row is longer than ${MAX_RECORD_BYTES} bytes.`;

export type CsvRecord = {
  cells: string[];
  /** The file line the record starts on (the header is line 1). */
  line: number;
  /** The byte offset just after the record's line break, and the lines read up to there. */
  endByte: number;
  endLine: number;
};

/** A file that cannot be read on from here (an unclosed quote, a record over the size limit). */
export class CsvFileError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
  }
}

type Position = { byte: number; line: number };

const OPTIONS = {
  relax_column_count: true,
  relax_quotes: true,
  skip_empty_lines: true,
  max_record_size: MAX_RECORD_BYTES,
} as const;

/**
 * Turns csv-parse's running counts into file positions. csv-parse counts a CRLF inside
 * a quoted cell as two lines; `overcount` undoes that.
 */
function positions(from: Position) {
  let overcount = 0;
  let lastLine = from.line;
  return {
    record(cells: string[], info: Pick<Info, "bytes" | "lines">): CsvRecord {
      let breaks = 0;
      for (const cell of cells) {
        const crlf = count(cell, "\r\n");
        overcount += crlf;
        breaks += count(cell, "\n") + count(cell, "\r") - crlf;
      }
      const endLine = from.line + info.lines - overcount;
      lastLine = endLine;
      return { cells, line: endLine - breaks, endByte: from.byte + info.bytes, endLine };
    },
    /** The parser reports where it gave up (for an unclosed quote: the end of the file); the row at fault is the one after the last good record. */
    failure: (err: CsvError) => new CsvFileError(describe(err), lastLine + 1),
  };
}

/**
 * The records of a CSV stream that starts at a record boundary (`from`), parsed by
 * csv-parse's WHATWG stream. Positions are absolute, so a reader may stop after any
 * record and a later one start again at its `endByte` with a fresh parser. Stopping
 * early (breaking out of the loop) cancels the stream. Blank lines are skipped by the
 * parser. (Reads ahead: see `recordsIn` for chunks.)
 */
export async function* readRecords(body: ReadableStream<Uint8Array>, from: Position): AsyncGenerator<CsvRecord> {
  // Only the file's first bytes may carry a byte-order mark.
  const parser = parse({ ...OPTIONS, info: true, bom: from.byte === 0 });
  const reader = (body.pipeThrough(parser) as ReadableStream<{ record: string[]; info: Info }>).getReader();
  const at = positions(from);
  try {
    for (;;) {
      let next: ReadableStreamReadResult<{ record: string[]; info: Info }>;
      try {
        next = await reader.read();
      } catch (err) {
        if (err instanceof CsvError) throw at.failure(err);
        throw err;
      }
      if (next.done) return;
      yield at.record(next.value.record, next.value.info);
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

/**
 * Bytes to read for one chunk: `maxBytes` of records, then room for the longest record
 * that may cross that mark (MAX_RECORD_BYTES characters, at most 4 bytes each in UTF-8)
 * and its line break.
 */
export const windowBytes = (maxBytes: number) => maxBytes + 4 * MAX_RECORD_BYTES + 1024;

/**
 * The first records of `bytes`, a window of the file starting at a record boundary
 * (`from`), parsed in one synchronous pass: up to `maxRecords` records, ending with the
 * first one that reaches `maxBytes` past the start. Unless the window ends the file
 * (`final`), its tail is cut mid-record: records that reach its end, and parse errors
 * after the last record taken, are left for the next chunk, which reads from there.
 * An error before that is the file's: the records before it are answered with it.
 *
 * One pass over a bounded window, instead of the stream (whose pipe reads up to 1,024
 * pieces of the rest of the file ahead and hands records over one promise at a time),
 * keeps a chunk's memory and time to what it uses.
 */
export function recordsIn(
  bytes: Uint8Array,
  from: Position,
  limits: { final: boolean; maxRecords: number; maxBytes: number },
): { records: CsvRecord[]; error?: CsvFileError } {
  const at = positions(from);
  const records: CsvRecord[] = [];
  let full = false;
  let tooLong: CsvFileError | undefined;
  // Where the last record ended, and the blank lines skipped up to there.
  let read = { bytes: 0, blank: 0 };
  try {
    parseSync(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), {
      ...OPTIONS,
      bom: from.byte === 0,
      // Stops parsing (the rest of the window is never looked at) after the last record taken.
      to: limits.maxRecords,
      on_record: (record, info) => {
        if (full || (!limits.final && info.bytes >= bytes.byteLength)) {
          full = true;
          return null;
        }
        // csv-parse bounds each cell, not a row: a row of many short cells is measured here
        // (less a byte for each blank line skipped before it).
        const length = info.bytes - read.bytes - (info.empty_lines - read.blank);
        read = { bytes: info.bytes, blank: info.empty_lines };
        const next = at.record(record, info);
        if (length > MAX_RECORD_BYTES) {
          tooLong = new CsvFileError(ROW_TOO_LONG, next.line);
          full = true;
          return null;
        }
        records.push(next);
        full = records.length >= limits.maxRecords || next.endByte - from.byte >= limits.maxBytes;
        return null;
      },
    });
  } catch (err) {
    if (!(err instanceof CsvError)) throw err;
    // An error past a row too long is the next chunk's to find, if it gets there.
    if (!tooLong && (limits.final || !full)) return { records, error: at.failure(err) };
  }
  return tooLong ? { records, error: tooLong } : { records };
}

function count(text: string, what: string) {
  let n = 0;
  for (let i = text.indexOf(what); i !== -1; i = text.indexOf(what, i + what.length)) n++;
  return n;
}

function describe(err: CsvError): string {
  switch (err.code) {
    case "CSV_QUOTE_NOT_CLOSED":
      return "A quoted value is never closed.";
    case "CSV_MAX_RECORD_SIZE":
      return ROW_TOO_LONG;
    default:
      return err.message;
  }
}

/** One CSV cell, quoted when it must be (RFC 4180). */
export function csvCell(value: string | number | null | undefined): string {
  const text = value === null || value === undefined ? "" : String(value);
  return /[",\r\n]/.test(text) || /^\s|\s$/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export const csvLine = (cells: readonly (string | number | null | undefined)[]) =>
  `${cells.map(csvCell).join(",")}\r\n`;

/**
 * What a spreadsheet would take for a formula: a cell starting with =, +, - or @, or
 * with a tab or CR (which some strip before looking). OWASP's CSV injection guidance:
 * https://owasp.org/www-community/attacks/CSV_Injection
 */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * A line of a CSV that people open in a spreadsheet (the errors CSV): each cell that
 * would start a formula gets a leading `'`, so it reads as text and never runs. Ordinary
 * values such as `+14155550100` then read `'+14155550100`, as OWASP accepts;
 * `withoutFormulaGuard` takes the `'` off again when such a file is imported.
 */
export const spreadsheetLine = (cells: readonly (string | number | null | undefined)[]) =>
  csvLine(cells.map((cell) => (typeof cell === "string" && FORMULA_START.test(cell) ? `'${cell}` : cell)));

/** A cell as it was before `spreadsheetLine` guarded it (a cell without the guard as it is). */
export const withoutFormulaGuard = (cell: string) =>
  cell.startsWith("'") && FORMULA_START.test(cell.slice(1)) ? cell.slice(1) : cell;
