import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { AdvisoryRecord, ArchivedAdvisory } from '../advisory/record';
import { advisoryDocumentSchema, type AdvisoryDocument } from '../advisory/schema';
import type { BroadcasterKey } from '../pgp/broadcaster-key';
import { signDetached } from '../pgp/detached';
import type { PublisherKeyring } from '../pgp/publisher-keyring';
import type { RecipientStore } from '../recipients/recipient-store';
import { RevisionExistsError, type AdvisoryArchive, type Audience } from '../storage/advisory-archive';
import { InvalidSubmissionError, RevisionConflictError, UnauthenticatedSubmissionError } from './intake-errors';
import { channelNames } from '../channels/channel';
import { fieldProblems } from '../util/zod-fields';

export interface Submission {
  /** The exact text that was signed. */
  document: string;
  /** Armored detached signatures over `document`'s UTF-8 bytes. */
  signatures: string[];
}

export type DeliveryStart = 'queued' | 'pending';

export interface IntakeResult {
  /** `accepted`: new, archived and queued; `duplicate`: this exact document was accepted before. */
  outcome: 'accepted' | 'duplicate';
  record: AdvisoryRecord;
  /** `pending`: archived, but the queue was unreachable; recovery queues it once it is back. */
  delivery: DeliveryStart;
}

export interface IntakeDeps {
  keyring: () => PublisherKeyring;
  broadcaster: BroadcasterKey;
  archive: AdvisoryArchive;
  recipients: RecipientStore;
  /** Queues an archived revision for delivery; may reject when Redis is unreachable. */
  enqueue: (archived: ArchivedAdvisory, audience: Audience) => Promise<void>;
  enqueueTimeoutMs: number;
  log: Logger;
}

/**
 * The path of one advisory, top-down: verify the publishers' signatures over the exact bytes,
 * validate the document, archive it durably with tocsin's own signature, then queue it.
 * Authentication comes first, so unauthenticated input is never parsed as a document.
 */
export function createAdvisoryIntake(deps: IntakeDeps) {
  const locks = new Map<string, Promise<unknown>>();

  /** Submissions for one id run one at a time, so revision order checks cannot race. */
  function withIdLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prior = locks.get(id) ?? Promise.resolve();
    const run = prior.then(fn, fn);
    const tail = run.catch(() => undefined);
    locks.set(id, tail);
    void tail.then(() => {
      if (locks.get(id) === tail) locks.delete(id);
    });
    return run;
  }

  async function startDelivery(archived: ArchivedAdvisory, audience: Audience): Promise<DeliveryStart> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timed out queueing')), deps.enqueueTimeoutMs);
    });
    try {
      await Promise.race([deps.enqueue(archived, audience), timeout]);
      return 'queued';
    } catch (err) {
      deps.log.warn({ advisory: archived.record.id, revision: archived.record.revision, err }, 'archived but not yet queued: recovery will queue it');
      return 'pending';
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    async submit(submission: Submission): Promise<IntakeResult> {
      const bytes = Buffer.from(submission.document, 'utf8');
      if (bytes.toString('utf8') !== submission.document) {
        throw new InvalidSubmissionError([{ field: 'document', message: 'contains unpaired UTF-16 surrogates: it cannot be the bytes that were signed' }]);
      }
      const verification = await deps.keyring().verify(bytes, submission.signatures);
      if (verification.valid.length === 0) throw new UnauthenticatedSubmissionError(verification.problems);

      const doc = parseDocument(submission.document);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const publishers = [...new Set(verification.valid.map((v) => v.fingerprint))];

      return withIdLock(doc.id, async () => {
        const ref = { id: doc.id, revision: doc.revision };
        const existing = await deps.archive.get(ref);
        if (existing) return duplicateOrConflict(existing, sha256);
        const latest = (await deps.archive.revisions(doc.id)).at(-1) ?? 0;
        if (latest >= doc.revision) {
          throw new RevisionConflictError(`revision ${doc.revision} of ${doc.id} is not newer than the latest, ${latest}`, latest);
        }
        const record: AdvisoryRecord = {
          id: doc.id,
          revision: doc.revision,
          kind: doc.kind,
          title: doc.title,
          severity: doc.severity,
          sha256,
          accepted_at: new Date().toISOString(),
          publishers,
          broadcaster_fingerprint: deps.broadcaster.fingerprint,
        };
        const archived: ArchivedAdvisory = {
          record,
          document: submission.document,
          publisherSignatures: submission.signatures,
          broadcasterSignature: await signDetached(bytes, deps.broadcaster.privateKey),
        };
        const audience: Audience = Object.fromEntries(channelNames.map((c) => [c, deps.recipients.idsFor(c)]));
        try {
          await deps.archive.store(archived, audience);
        } catch (err) {
          // Another process archived this revision between our check and our rename.
          if (!(err instanceof RevisionExistsError)) throw err;
          const winner = await deps.archive.get(ref);
          if (winner) return duplicateOrConflict(winner, sha256);
          throw err;
        }
        deps.log.info({ advisory: record.id, revision: record.revision, sha256, publishers }, 'advisory accepted and archived');
        return { outcome: 'accepted', record, delivery: await startDelivery(archived, audience) };
      });
    },
  };
}

function duplicateOrConflict(existing: ArchivedAdvisory, sha256: string): IntakeResult {
  if (existing.record.sha256 === sha256) return { outcome: 'duplicate', record: existing.record, delivery: 'queued' };
  const { id, revision } = existing.record;
  throw new RevisionConflictError(`${id} revision ${revision} already exists with other content: publish a new revision`, revision);
}

function parseDocument(text: string): AdvisoryDocument {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new InvalidSubmissionError([{ field: 'document', message: `not valid JSON: ${(err as Error).message}` }]);
  }
  const parsed = advisoryDocumentSchema.safeParse(json);
  if (!parsed.success) {
    throw new InvalidSubmissionError(fieldProblems(parsed.error, 'document'));
  }
  return parsed.data;
}
