import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { EXPORT_CSV_COLUMNS, bodyToRow, exportBody } from '../recipients/recipient-csv';
import type { Recipient } from '../recipients/recipient';
import { callApi, type ApiTarget } from './api-client';
import { printJson } from './cli-output';
import { CliFailure } from './commands';

/** The formats `recipients import` and `recipients export` read and write. */
export const TRANSFER_FORMATS = ['ndjson', 'csv'] as const;
export type TransferFormat = (typeof TRANSFER_FORMATS)[number];

const MEDIA_TYPES: Record<TransferFormat, string> = { ndjson: 'application/x-ndjson', csv: 'text/csv' };

/** An import of 100,000 lines takes seconds; a loaded machine may take longer than a single change is given. */
const IMPORT_TIMEOUT_MS = 300_000;

/** The format a file's name says: `.csv`, or `.ndjson`/`.jsonl`. */
export function formatOfFile(file: string): TransferFormat {
  if (/\.csv$/i.test(file)) return 'csv';
  if (/\.(ndjson|jsonl)$/i.test(file)) return 'ndjson';
  throw new CliFailure(`${file}: say --format ndjson or --format csv (the name ends in neither .ndjson, .jsonl nor .csv)`, 2);
}

interface Rejection {
  line: number;
  field: string;
  message: string;
}

/** One line per refused field, as an editor would jump to it. */
function printRejections(file: string, rejected: readonly Rejection[]): void {
  for (const r of rejected) console.error(`${file}:${r.line}: ${r.field}: ${r.message}`);
}

/**
 * `tocsin recipients import FILE`: streams the file to POST /v1/recipients/import. All or
 * nothing unless `--skip-invalid`; each refused line is printed as `FILE:LINE: FIELD: MESSAGE`.
 */
export async function recipientsImport(target: ApiTarget, file: string, options: { format?: TransferFormat; skipInvalid?: boolean; json?: boolean }): Promise<void> {
  const format = options.format ?? formatOfFile(file);
  try {
    await stat(file);
  } catch (err) {
    throw new CliFailure(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 2);
  }
  const data = Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array>;
  const answer = (await callApi({ timeoutMs: IMPORT_TIMEOUT_MS, ...target }, 'POST', `/v1/recipients/import${options.skipInvalid ? '?skip_invalid=true' : ''}`, {
    admin: true,
    rawBody: { data, type: MEDIA_TYPES[format] },
    showRefusal: (text) => {
      let body: { error?: { message?: string; rejected?: Rejection[] } } | undefined;
      try {
        body = JSON.parse(text) as typeof body;
      } catch {
        body = undefined;
      }
      if (options.json || !body?.error) console.error(text);
      else {
        printRejections(file, body.error.rejected ?? []);
        console.error(body.error.message ?? text);
      }
    },
  })) as { imported: number; updated: number; rejected: Rejection[] };
  if (options.json) {
    printJson(answer);
    return;
  }
  printRejections(file, answer.rejected);
  const skipped = new Set(answer.rejected.map((r) => r.line)).size;
  console.log(`imported ${answer.imported}, updated ${answer.updated}${skipped > 0 ? `, skipped ${skipped} line${skipped === 1 ? '' : 's'} (above)` : ''}`);
}

/** `tocsin recipients export`: every recipient as an import line, secrets left out, on stdout. */
export async function recipientsExport(target: ApiTarget, options: { format?: TransferFormat }): Promise<void> {
  const answer = (await callApi(target, 'GET', '/v1/recipients', { admin: true })) as { recipients: ({ type: Recipient['type'] } & Record<string, unknown>)[] };
  const format = options.format ?? 'ndjson';
  const out: string[] = format === 'csv' ? [EXPORT_CSV_COLUMNS.join(',')] : [];
  for (const view of answer.recipients) {
    const body = exportBody(view);
    out.push(format === 'csv' ? bodyToRow(body) : JSON.stringify(body));
  }
  if (out.length > 0) process.stdout.write(`${out.join('\n')}\n`);
}
