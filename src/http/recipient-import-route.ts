import type { Request, RequestHandler } from 'express';
import { z } from 'zod';
import { createImportCheck, type CheckedLine, type ImportCheckDeps } from '../recipients/recipient-import';
import { createSpool, type Spool } from '../storage/spool-file';
import { fieldProblems } from '../util/zod-fields';
import { handle, HttpError, type Reply } from './http-error';
import { importFormat, importRecords, UnreadableImportError, type ImportFormat } from './import-body';
import type { RecipientStore } from '../recipients/recipient-store';

/** `?skip_invalid=true` imports the good lines and reports the rest; by default one bad line refuses the whole import. */
export const importQuerySchema = z.strictObject({
  skip_invalid: z.enum(['true', 'false'], { error: 'must be true or false' }).optional(),
});

/**
 * The most lines one import takes, and the most refusals it reports: what it holds until its one
 * write stays bounded whatever the 64 MiB hold (a wrong file of short lines would be millions).
 */
export const MAX_IMPORT_LINES = 250_000;
export const MAX_IMPORT_REJECTIONS = 10_000;

/** What an import needs: the directory it writes to, how targets are checked (as at enrolment), and where checked lines wait. */
export interface RecipientImportDeps extends Omit<ImportCheckDeps, 'withTarget' | 'spool'> {
  recipients: RecipientStore;
  /** A private directory for the scratch file of each import (removed after it; see removeSpools). */
  importSpoolDir: string;
}

/** Nothing more of this request is read: the connection closes after the answer instead of reading the rest of a large body. */
function closingAfter(req: Request, err: HttpError): HttpError {
  if (!req.complete) req.res?.set('Connection', 'close');
  return err;
}

async function runImport(req: Request, format: ImportFormat, skipInvalid: boolean, deps: RecipientImportDeps): Promise<Reply> {
  const spool = await createSpool<CheckedLine>(deps.importSpoolDir);
  try {
    return await checkAndWrite(req, format, skipInvalid, deps, spool);
  } finally {
    await spool.remove();
  }
}

async function checkAndWrite(req: Request, format: ImportFormat, skipInvalid: boolean, deps: RecipientImportDeps, spool: Spool<CheckedLine>): Promise<Reply> {
  const { recipients, enabledChannels, allowPrivateTargets, resolveHost } = deps;
  const check = createImportCheck({ enabledChannels, allowPrivateTargets, resolveHost, spool, withTarget: (key) => recipients.findByTarget(key) });
  let lines = 0;
  try {
    for await (const record of importRecords(req, format)) {
      if (++lines > MAX_IMPORT_LINES) throw new HttpError(413, 'too_large', `an import holds at most ${MAX_IMPORT_LINES} recipients: split the file`);
      if ('problem' in record) check.reject(record.line, record.problem.field, record.problem.message);
      else await check.take(record.line, record.body);
      if (check.rejectedCount() > MAX_IMPORT_REJECTIONS) {
        throw new UnreadableImportError({ line: record.line, field: '(line)', message: `more than ${MAX_IMPORT_REJECTIONS} refused fields by this line (the wrong file?): stopped reading` });
      }
    }
  } catch (err) {
    if (err instanceof UnreadableImportError) {
      throw closingAfter(req, new HttpError(400, 'invalid_import', `${err.message}: nothing was imported`, [], { details: { rejected: [err.rejection] } }));
    }
    if (err instanceof HttpError) throw closingAfter(req, err);
    throw err;
  }
  const plan = await check.finish();
  if (plan.rejected.length > 0 && !skipInvalid) {
    const lines = new Set(plan.rejected.map((r) => r.line)).size;
    throw new HttpError(400, 'invalid_import', `${lines} line${lines === 1 ? '' : 's'} refused: nothing was imported (?skip_invalid=true imports the others)`, [], {
      details: { rejected: plan.rejected },
    });
  }
  await recipients.importRecipients(plan.writes());
  return { status: 200, body: { imported: plan.added, updated: plan.updated, rejected: plan.rejected } };
}

/**
 * `POST /v1/recipients/import`: NDJSON or CSV, read as a stream. One import at a time: each is
 * checked against the directory as the one before left it, so two imports of one list cannot
 * both add its recipients.
 */
export function recipientImportRoute(deps: RecipientImportDeps): RequestHandler {
  let previous: Promise<unknown> = Promise.resolve();
  return handle(async (req) => {
    const query = importQuerySchema.safeParse(req.query);
    if (!query.success) throw closingAfter(req, new HttpError(400, 'invalid_query', 'invalid query', fieldProblems(query.error)));
    let format: ImportFormat;
    try {
      format = importFormat(req);
    } catch (err) {
      throw err instanceof HttpError ? closingAfter(req, err) : err;
    }
    const run = previous.then(() => runImport(req, format, query.data.skip_invalid === 'true', deps));
    previous = run.catch(() => undefined);
    return run;
  });
}
