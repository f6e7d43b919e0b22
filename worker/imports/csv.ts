import { CsvError, type Info, parse } from "csv-parse/stream";

/** A record longer than this is refused: it bounds the parser's buffer (and a chunk's memory). */
export const MAX_RECORD_BYTES = 64 * 1024;

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

/**
 * The records of a CSV stream that starts at a record boundary (`from`), parsed by
 * csv-parse's WHATWG stream. Positions are absolute, so a reader may stop after any
 * record and a later one start again at its `endByte` with a fresh parser. Stopping
 * early (breaking out of the loop) cancels the stream, so a large file is never read
 * further than needed. Blank lines are skipped by the parser.
 */
export async function* readRecords(body: ReadableStream<Uint8Array>, from: Position): AsyncGenerator<CsvRecord> {
  const parser = parse({
    // Only the file's first bytes may carry a byte-order mark.
    bom: from.byte === 0,
    info: true,
    relax_column_count: true,
    relax_quotes: true,
    skip_empty_lines: true,
    max_record_size: MAX_RECORD_BYTES,
  });
  const reader = (body.pipeThrough(parser) as ReadableStream<{ record: string[]; info: Info }>).getReader();
  // csv-parse counts a CRLF inside a quoted cell as two lines; `overcount` undoes that.
  let overcount = 0;
  let lastLine = from.line;
  try {
    for (;;) {
      let next: ReadableStreamReadResult<{ record: string[]; info: Info }>;
      try {
        next = await reader.read();
      } catch (err) {
        // The parser reports where it gave up (for an unclosed quote: the end of the
        // file); the row at fault is the one after the last good record.
        if (err instanceof CsvError) throw new CsvFileError(describe(err), lastLine + 1);
        throw err;
      }
      if (next.done) return;
      const { record, info } = next.value;
      let breaks = 0;
      for (const cell of record) {
        const crlf = count(cell, "\r\n");
        overcount += crlf;
        breaks += count(cell, "\n") + count(cell, "\r") - crlf;
      }
      const endLine = from.line + info.lines - overcount;
      lastLine = endLine;
      yield { cells: record, line: endLine - breaks, endByte: from.byte + info.bytes, endLine };
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
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
      return `A row is longer than ${MAX_RECORD_BYTES} bytes.`;
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
