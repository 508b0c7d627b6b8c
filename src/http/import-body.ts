import type { Request } from 'express';
import { TextDecoder } from 'node:util';
import { createCsvParser, CsvStructureError } from '../recipients/csv-records';
import { csvHeaderProblem, rowToBody } from '../recipients/recipient-csv';
import { DUPLICATE_KEY, DuplicateKeyError, parseStrictJson } from '../util/strict-json';
import { HttpError } from './http-error';

/**
 * 64 MiB: the largest body `POST /v1/recipients/import` reads (100,000 recipients and room to
 * spare). It is read as a stream, a chunk at a time; every other route keeps BODY_LIMIT_BYTES.
 */
export const IMPORT_BODY_LIMIT_BYTES = 64 * 1024 * 1024;

/** The longest NDJSON line read: no recipient body comes near it. */
const MAX_NDJSON_LINE_CHARS = 256 * 1024;

export const IMPORT_MEDIA_TYPES = { ndjson: 'application/x-ndjson', csv: 'text/csv' } as const;
export type ImportFormat = keyof typeof IMPORT_MEDIA_TYPES;

/** One record of the body: the object its line stands for, or why it cannot be read. */
export type ImportRecord = { line: number; body: unknown } | { line: number; problem: { field: string; message: string } };

/** The format the content type names: 415 for anything but NDJSON or CSV in UTF-8, or a compressed body. */
export function importFormat(req: Request): ImportFormat {
  const type = req.headers['content-type'];
  const format = req.is(IMPORT_MEDIA_TYPES.ndjson) ? 'ndjson' : req.is(IMPORT_MEDIA_TYPES.csv) ? 'csv' : null;
  if (!type || !format) throw new HttpError(415, 'unsupported_media_type', `content-type must be ${IMPORT_MEDIA_TYPES.ndjson} or ${IMPORT_MEDIA_TYPES.csv} (got ${type ?? 'none'})`);
  const charset = /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(type)?.[1]?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new HttpError(415, 'unsupported_media_type', `charset must be utf-8 (got ${charset || 'an empty one'})`);
  }
  // A compressed body would make the 64 MiB limit a limit on what is sent, not on what is read.
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
    throw new HttpError(415, 'unsupported_media_type', `send the import uncompressed (got content-encoding ${encoding})`);
  }
  return format;
}

/** The stopping point of an over-long body; the connection closes after the answer, rather than reading the rest. */
function tooLarge(): HttpError {
  return new HttpError(413, 'too_large', `an import body is at most ${IMPORT_BODY_LIMIT_BYTES / 1024 / 1024} MiB: split the file`);
}

/** The body as text, chunk by chunk, never more than one chunk held: 413 past the limit, 400 for bytes that are not UTF-8. */
async function* bodyText(req: Request): AsyncGenerator<string> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > IMPORT_BODY_LIMIT_BYTES) throw tooLarge();
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let bytes = 0;
  const chunks = (req as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  for (;;) {
    let next: IteratorResult<Buffer>;
    try {
      next = await chunks.next();
    } catch (err) {
      // The client went away mid-body: its fault, and nothing was written.
      throw new HttpError(400, 'aborted', 'request aborted before its body ended', [], { cause: err });
    }
    if (next.done) break;
    bytes += next.value.length;
    if (bytes > IMPORT_BODY_LIMIT_BYTES) throw tooLarge();
    yield decode(decoder, next.value, true);
  }
  yield decode(decoder, undefined, false);
}

function decode(decoder: TextDecoder, chunk: Buffer | undefined, more: boolean): string {
  try {
    return decoder.decode(chunk, { stream: more });
  } catch {
    throw new HttpError(400, 'malformed_body', 'request body is not valid UTF-8 (an import must be UTF-8)');
  }
}

function ndjsonLine(line: number, text: string): ImportRecord | null {
  const trimmed = text.endsWith('\r') ? text.slice(0, -1) : text;
  if (trimmed.trim() === '') return null;
  try {
    return { line, body: parseStrictJson(trimmed) };
  } catch (err) {
    if (err instanceof DuplicateKeyError) return { line, problem: { field: err.path.join('.'), message: DUPLICATE_KEY } };
    return { line, problem: { field: '(line)', message: `not a JSON object: ${(err as Error).message}` } };
  }
}

/** NDJSON: one JSON body per line; blank lines are skipped. */
async function* ndjsonRecords(texts: AsyncIterable<string>): AsyncGenerator<ImportRecord> {
  let line = 1;
  let partial = '';
  let overlong = false;
  for await (const text of texts) {
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      const whole = partial + text.slice(start, nl);
      partial = '';
      start = nl + 1;
      if (overlong || whole.length > MAX_NDJSON_LINE_CHARS) yield { line, problem: { field: '(line)', message: `longer than ${MAX_NDJSON_LINE_CHARS} characters` } };
      else {
        const record = ndjsonLine(line, whole);
        if (record) yield record;
      }
      overlong = false;
      line++;
    }
    // An over-long line is not kept growing: only that it was over-long is remembered.
    if (!overlong) partial += text.slice(start);
    if (partial.length > MAX_NDJSON_LINE_CHARS) {
      overlong = true;
      partial = '';
    }
  }
  if (overlong) yield { line, problem: { field: '(line)', message: `longer than ${MAX_NDJSON_LINE_CHARS} characters` } };
  else {
    const record = ndjsonLine(line, partial);
    if (record) yield record;
  }
}

/** A body that cannot be read past some point: the whole import is refused, whatever skip_invalid says. */
export class UnreadableImportError extends Error {
  constructor(readonly rejection: { line: number; field: string; message: string }) {
    super(`line ${rejection.line}: ${rejection.field}: ${rejection.message}`);
    this.name = 'UnreadableImportError';
  }
}

/** CSV: a header row naming the columns (see recipient-csv.ts), then one recipient per row. */
async function* csvRecords(texts: AsyncIterable<string>): AsyncGenerator<ImportRecord> {
  const parser = createCsvParser();
  let header: string[] | null = null;
  function* rows(records: ReturnType<typeof parser.push>): Generator<ImportRecord> {
    for (const r of records) {
      if (!header) {
        const problem = r.problem ? { field: '(header)', message: r.problem } : csvHeaderProblem(r.cells);
        if (problem) throw new UnreadableImportError({ line: r.line, ...problem });
        header = r.cells;
        continue;
      }
      if (r.problem) yield { line: r.line, problem: { field: '(line)', message: r.problem } };
      else if (r.cells.length !== header.length) yield { line: r.line, problem: { field: '(line)', message: `has ${r.cells.length} cells where the header names ${header.length} columns` } };
      else yield { line: r.line, body: rowToBody(header, r.cells) };
    }
  }
  try {
    for await (const text of texts) yield* rows(parser.push(text));
    yield* rows(parser.end());
  } catch (err) {
    if (err instanceof CsvStructureError) throw new UnreadableImportError({ line: err.line, field: '(line)', message: err.message });
    throw err;
  }
  if (!header) throw new UnreadableImportError({ line: 1, field: '(header)', message: 'the body is empty: a CSV import starts with a header row naming its columns' });
}

/** The records of an import body, read as they arrive. */
export function importRecords(req: Request, format: ImportFormat): AsyncGenerator<ImportRecord> {
  return format === 'ndjson' ? ndjsonRecords(bodyText(req)) : csvRecords(bodyText(req));
}
