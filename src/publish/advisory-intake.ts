import { createHash, randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { AdvisoryRecord, ArchivedAdvisory } from '../advisory/record';
import { advisoryDocumentSchema, type AdvisoryDocument } from '../advisory/schema';
import type { BroadcasterSigner } from '../pgp/broadcaster-keys';
import { signDetached } from '../pgp/detached';
import type { PublisherKeyring } from '../pgp/publisher-keyring';
import type { DeliveryStart, ReleaseStep } from '../release/release-step';
import { RevisionExistsError, type AdvisoryArchive } from '../storage/advisory-archive';
import type { HeldSignature, HeldSubmission, HoldStore } from '../storage/hold-store';
import {
  HoldExpiredError,
  InvalidSubmissionError,
  RevisionConflictError,
  UnauthenticatedSubmissionError,
} from './intake-errors';
import type { Severity } from '../advisory/schema';
import type { Tlp } from '../advisory/tlp';
import type { ChannelName } from '../channels/channel-names';
import { csafFileName } from '../mirror/site-paths';
import { fieldProblems } from '../util/zod-fields';
import { createRevisionRules } from './revision-rules';
import { createDisclosureRules } from './disclosure-rules';
import { DUPLICATE_KEY, DuplicateKeyError, parseStrictJson } from '../util/strict-json';

export interface Submission {
  /** The exact text that was signed. */
  document: string;
  /** Armored detached signatures over `document`'s UTF-8 bytes. */
  signatures: string[];
}

export type { DeliveryStart };

/** What a drill started by tocsin names: only these channels, only this group (default: everyone). */
export interface DrillSelection {
  channels?: ChannelName[];
  group?: string;
}

export type IntakeResult =
  | {
      /** `accepted`: new, archived and queued; `duplicate`: this exact document was accepted before. */
      outcome: 'accepted' | 'duplicate';
      record: AdvisoryRecord;
      /** `pending`: archived, but the queue was unreachable; recovery queues it once it is back. */
      delivery: DeliveryStart;
    }
  | {
      /** Signed by fewer distinct publishers than the policy asks: stored, not sent, waiting. */
      outcome: 'held';
      hold: HoldStatus;
    };

/** A held submission as the API shows it. */
export interface HoldStatus {
  id: string;
  revision: number;
  sha256: string;
  status: 'awaiting_signatures' | 'expired';
  required: number;
  /** Fingerprints of the distinct enrolled publishers whose signatures verify. */
  publishers: string[];
  missing: number;
  received_at: string;
  expires_at: string;
}

export interface IntakeDeps {
  keyring: () => PublisherKeyring;
  /** Tocsin's keys as they sign now; rejects with BroadcasterKeyUnusableError when they cannot. */
  signer: () => Promise<BroadcasterSigner>;
  archive: AdvisoryArchive;
  /** What happens to an accepted revision: routed, archived, sent now or at its embargo's end. */
  release: Pick<ReleaseStep, 'admit'>;
  /** Told of each newly accepted revision once it is archived (e.g. to rebuild the mirror); must not throw. */
  onAccepted?: (record: AdvisoryRecord) => void;
  log: Logger;
  /** Submissions waiting for more publishers' signatures (the two-person rule). */
  holds: HoldStore;
  /** Distinct enrolled publishers an advisory of this severity needs (1: no rule). */
  signaturesRequired: (severity: Severity) => number;
  /** How long a held submission waits before it expires. */
  holdMs: number;
  now?: () => Date;
}

/**
 * The path of one advisory, top-down: verify the publishers' signatures over the exact bytes,
 * validate the document, archive it durably with tocsin's own signature, then queue it.
 * Authentication comes first, so unauthenticated input is never parsed as a document.
 */
export function createAdvisoryIntake(deps: IntakeDeps) {
  const locks = new Map<string, Promise<unknown>>();

  /**
   * Submissions for one id run one at a time, so revision order checks cannot race. Ids that share
   * a CSAF file name share the lock too, so that two of them cannot both pass the name check.
   */
  function withIdLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const key = csafFileName(id);
    const prior = locks.get(key) ?? Promise.resolve();
    const run = prior.then(fn, fn);
    const tail = run.catch(() => undefined);
    locks.set(key, tail);
    void tail.then(() => {
      if (locks.get(key) === tail) locks.delete(key);
    });
    return run;
  }

  /**
   * A retraction runs under the withdrawn id's lock as well as its own, so that no revision of
   * that id can pass the "retracted" check while the retraction is being archived. The locks are
   * taken in one order (by key) whatever the document says, so two documents naming each other
   * cannot wait on each other.
   */
  function withIdLocks<T>(ids: readonly string[], fn: () => Promise<T>): Promise<T> {
    const keys = [...new Set(ids.map(csafFileName))].sort();
    const byKey = new Map(ids.map((id) => [csafFileName(id), id]));
    return keys.reduceRight<() => Promise<T>>((inner, key) => () => withIdLock(byKey.get(key)!, inner), fn)();
  }

  const now = deps.now ?? (() => new Date());
  const rules = createRevisionRules({ archive: deps.archive, holds: deps.holds, signaturesRequired: deps.signaturesRequired, now });
  const disclosure = createDisclosureRules({ archive: deps.archive, retractionOf: (id) => deps.archive.retractionOf(id), now });

  /** Signatures of the wrong form (text mode, too many packets) are a bad request, refused before any is verified. */
  async function refuseMalformed(signatures: readonly string[]) {
    const problems = await deps.keyring().formProblems(signatures);
    if (problems.length > 0) throw new InvalidSubmissionError(problems);
  }

  /**
   * Verifies each signature on its own, so that the caller learns which publisher made which, and
   * keeps one signature per publisher: a publisher signing twice still counts once.
   */
  async function verifyEach(bytes: Uint8Array, signatures: readonly string[]) {
    const keyring = deps.keyring();
    const accepted: HeldSignature[] = [];
    const problems: string[] = [];
    for (const [index, signature] of signatures.entries()) {
      const result = await keyring.verify(bytes, [signature]);
      problems.push(...result.problems.map((p) => p.replace(/^signatures\[0\]/, `signatures[${index}]`)));
      for (const v of result.valid) {
        if (!accepted.some((a) => a.fingerprint === v.fingerprint)) accepted.push({ fingerprint: v.fingerprint, signature: v.kept ?? signature, added_at: now().toISOString() });
      }
    }
    return { accepted, problems };
  }

  /** The latest accepted record of the advisory a retraction withdraws. */
  async function withdrawnRecord(retracts: string): Promise<AdvisoryRecord | null> {
    const latest = (await deps.archive.revisions(retracts)).at(-1);
    return latest === undefined ? null : ((await deps.archive.get({ id: retracts, revision: latest }))?.record ?? null);
  }

  /**
   * A retraction counts as the advisory it withdraws at its latest severity, so that withdrawing
   * needs the signatures publishing did. Withdrawing an id tocsin does not know is refused before
   * this (publish/disclosure-rules.ts); should it get here, it counts as critical. A status update
   * counts as `none`, the lowest: it must go out fast during an outage, from one publisher when
   * the signature policy lets one sign the least severe advisories.
   */
  async function severityOf(doc: AdvisoryDocument): Promise<Severity> {
    if (doc.kind === 'status') return 'none';
    // A drill rehearses the worst day: it needs the signatures a critical advisory does.
    if (doc.kind === 'drill') return 'critical';
    if (doc.kind !== 'retraction') return doc.severity;
    return (await withdrawnRecord(doc.retracts))?.severity ?? 'critical';
  }

  /**
   * A retraction carries no label of its own: it is shared as far as the latest revision of what
   * it withdraws was, so that withdrawing an AMBER advisory does not announce it as TLP:CLEAR.
   */
  async function tlpOfDocument(doc: AdvisoryDocument): Promise<Tlp | undefined> {
    // A status update is always public, and a drill is TLP:CLEAR: no label, which reads as CLEAR.
    if (doc.kind === 'status' || doc.kind === 'drill') return undefined;
    if (doc.kind !== 'retraction') return doc.tlp;
    return (await withdrawnRecord(doc.retracts))?.tlp;
  }

  /** What an accepted record and a held submission both say about the document they stand for. */
  const identity = async (doc: AdvisoryDocument, sha256: string) => {
    const tlp = await tlpOfDocument(doc);
    return {
    id: doc.id,
    revision: doc.revision,
    kind: doc.kind,
    title: doc.title,
    severity: await severityOf(doc),
    ...(tlp ? { tlp } : {}),
    ...((doc.kind === 'advisory' || doc.kind === 'mitigation') && doc.embargo_until ? { embargo_until: doc.embargo_until, audience: doc.audience } : {}),
    ...(doc.kind === 'retraction' ? { retracts: doc.retracts } : {}),
    sha256,
    };
  };

  /** Signs as broadcaster, then hands over to the release step: the one way an advisory is ever accepted. */
  async function accept(doc: AdvisoryDocument, document: string, sha256: string, publisherSignatures: string[], publishers: string[]): Promise<IntakeResult> {
    const bytes = Buffer.from(document, 'utf8');
    const ref = { id: doc.id, revision: doc.revision };
    // Before anything is archived: an advisory tocsin cannot sign must not be half-accepted.
    const signer = await deps.signer();
    const record: AdvisoryRecord = {
      ...(await identity(doc, sha256)),
      // The embargo's clock: accepted before its end, the revision goes to the embargo's audience only.
      accepted_at: now().toISOString(),
      publishers,
      broadcaster_fingerprint: signer.fingerprint,
    };
    const archived: ArchivedAdvisory = {
      record,
      document,
      publisherSignatures,
      broadcasterSignature: await signDetached(bytes, signer.signingKeys),
    };
    let delivery: DeliveryStart;
    try {
      delivery = await deps.release.admit(archived, doc);
    } catch (err) {
      // Another process archived this revision between our check and our rename.
      if (!(err instanceof RevisionExistsError)) throw err;
      const winner = await deps.archive.get(ref);
      if (winner) return duplicateOrConflict(winner, sha256);
      throw err;
    }
    deps.log.info({ advisory: record.id, revision: record.revision, sha256, publishers }, 'advisory accepted and archived');
    deps.onAccepted?.(record);
    return { outcome: 'accepted', record, delivery };
  }

  function expired(held: HeldSubmission): boolean {
    return held.outcome?.state === 'expired' || Date.parse(held.hold.expires_at) <= now().getTime();
  }

  /** Records an expiry once, durably, and refuses. */
  async function refuseExpired(held: HeldSubmission): Promise<never> {
    const { id, revision, expires_at } = held.hold;
    if (!held.outcome) {
      await deps.holds.settle(held.hold, { state: 'expired', at: now().toISOString() });
      deps.log.warn({ advisory: id, revision, expires_at, publishers: held.signatures.map((s) => s.fingerprint) }, 'held advisory expired without enough signatures: not sent');
    }
    throw new HoldExpiredError(id, revision, expires_at);
  }

  async function status(held: HeldSubmission, signatures: HeldSignature[]): Promise<HoldStatus> {
    const required = await rules.required(held.hold.id, held.hold.revision, held.hold.severity, held.hold.retracts);
    const publishers = [...new Set(signatures.map((s) => s.fingerprint))];
    return {
      id: held.hold.id,
      revision: held.hold.revision,
      sha256: held.hold.sha256,
      status: expired(held) ? 'expired' : 'awaiting_signatures',
      required,
      publishers,
      missing: Math.max(0, required - publishers.length),
      received_at: held.hold.received_at,
      expires_at: held.hold.expires_at,
    };
  }

  /**
   * Adds signatures, already verified over the held bytes, to a held submission, under its id
   * lock. Every stored signature is checked again against the keyring in force now, so a
   * publisher removed meanwhile no longer counts; once enough distinct publishers have signed, it
   * is accepted exactly once.
   */
  async function addToHold(held: HeldSubmission, fresh: readonly HeldSignature[]): Promise<IntakeResult> {
    const ref = { id: held.hold.id, revision: held.hold.revision };
    const archived = await deps.archive.get(ref);
    if (archived) return duplicateOrConflict(archived, held.hold.sha256);
    if (expired(held)) return refuseExpired(held);
    const bytes = Buffer.from(held.document, 'utf8');
    const still = await verifyEach(bytes, held.signatures.map((s) => s.signature));
    const merged = held.signatures.filter((s) => still.accepted.some((a) => a.fingerprint === s.fingerprint));
    for (const s of fresh) if (!merged.some((m) => m.fingerprint === s.fingerprint)) merged.push(s);

    const state = await status(held, merged);
    if (state.missing > 0) {
      await deps.holds.setSignatures(ref, merged);
      deps.log.info({ advisory: ref.id, revision: ref.revision, publishers: state.publishers, missing: state.missing }, 'held advisory still awaits signatures');
      return { outcome: 'held', hold: state };
    }
    const latest = await rules.latestAccepted(ref.id);
    if (latest >= ref.revision) {
      throw new RevisionConflictError(`${ref.id} revision ${ref.revision} was held, and revision ${latest} has been accepted since: it will not be sent`, latest);
    }
    const doc = parseDocument(held.document);
    // Checked again: while it waited, its advisory may have been retracted or its embargo ended.
    await disclosure.check(doc);
    const result = await accept(doc, held.document, held.hold.sha256, [...new Set(merged.map((m) => m.signature))], state.publishers);
    await deps.holds.settle(ref, { state: 'accepted', at: now().toISOString() });
    return result;
  }

  return {
    async submit(submission: Submission): Promise<IntakeResult> {
      const bytes = Buffer.from(submission.document, 'utf8');
      if (bytes.toString('utf8') !== submission.document) {
        throw new InvalidSubmissionError([{ field: 'document', message: 'contains unpaired UTF-16 surrogates: it cannot be the bytes that were signed' }]);
      }
      await refuseMalformed(submission.signatures);
      const verification = await verifyEach(bytes, submission.signatures);
      if (verification.accepted.length === 0) throw new UnauthenticatedSubmissionError(verification.problems);

      const doc = parseDocument(submission.document);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const publishers = verification.accepted.map((v) => v.fingerprint);

      return withIdLocks(doc.kind === 'retraction' ? [doc.id, doc.retracts] : [doc.id], async () => {
        const ref = { id: doc.id, revision: doc.revision };
        const latest = await rules.latestAccepted(doc.id);
        const existing = await deps.archive.get(ref);
        if (existing) return duplicateOrConflict(existing, sha256, latest);
        const waiting = await rules.openHold(doc.id);
        if (waiting?.hold.revision === doc.revision) {
          // The same document again, perhaps with another publisher's signature: it joins the hold.
          if (waiting.hold.sha256 !== sha256) {
            throw new RevisionConflictError(`${doc.id} revision ${doc.revision} is already waiting for signatures with other content: sign that document, or let it expire`, latest, doc.revision);
          }
          return addToHold(waiting, verification.accepted);
        }
        await disclosure.check(doc);
        await rules.checkNext(doc.id, doc.revision, waiting);
        if (latest === 0) await rules.checkCsafName(doc.id);
        const severity = await severityOf(doc);
        const required = await rules.required(doc.id, doc.revision, severity, doc.kind === 'retraction' ? doc.retracts : undefined);
        // Only the signatures that verified are archived and shown as the publishers'.
        if (publishers.length >= required) return accept(doc, submission.document, sha256, verification.accepted.map((v) => v.signature), publishers);

        // A hold that expired at this revision number gives the number back.
        const stale = await deps.holds.get(ref);
        if (stale) {
          if (!stale.outcome) await refuseExpired(stale).catch((err: unknown) => {
            if (!(err instanceof HoldExpiredError)) throw err;
          });
          await deps.holds.retire(ref);
        }
        const receivedAt = now();
        const hold = {
          hold: {
            ...(await identity(doc, sha256)),
            received_at: receivedAt.toISOString(),
            expires_at: new Date(receivedAt.getTime() + deps.holdMs).toISOString(),
            required,
          },
          document: submission.document,
          signatures: verification.accepted,
        };
        try {
          await deps.holds.create(hold);
        } catch (err) {
          if (!(err instanceof RevisionExistsError)) throw err;
          throw new RevisionConflictError(`${doc.id} revision ${doc.revision} was held by another submission meanwhile: submit again`, latest, doc.revision);
        }
        const view = await status({ ...hold, outcome: null }, hold.signatures);
        deps.log.warn({ advisory: doc.id, revision: doc.revision, severity, publishers, required }, 'advisory held: it needs more publishers\' signatures before it is sent');
        return { outcome: 'held', hold: view };
      });
    },

    /**
     * `POST /v1/advisories/:id/signatures`: more publishers' signatures over a held submission's
     * stored bytes. Without `revision`, the latest revision held or accepted. The signatures are
     * the only authentication, so until one verifies over that revision's bytes the answer is the
     * same 401 whether the id is held, accepted, expired or unknown: it must not tell anyone that
     * an advisory is waiting.
     */
    async addSignatures(id: string, revision: number | undefined, signatures: string[]): Promise<IntakeResult> {
      await refuseMalformed(signatures);
      return withIdLock(id, async () => {
        const rev = revision ?? Math.max((await deps.holds.revisions(id)).at(-1) ?? 0, await rules.latestAccepted(id));
        const ref = { id, revision: rev };
        const archived = await deps.archive.get(ref);
        const held = archived ? null : await deps.holds.get(ref);
        const document = archived?.document ?? held?.document;
        // Verifying even when there is nothing to verify against spends the same work either way.
        const fresh = await verifyEach(Buffer.from(document ?? '', 'utf8'), signatures);
        if (fresh.accepted.length > 0 && archived) return { outcome: 'duplicate', record: archived.record, delivery: 'queued' };
        if (fresh.accepted.length > 0 && held) return addToHold(held, fresh.accepted);
        throw new UnauthenticatedSubmissionError([`signatures: none verifies with an enrolled publisher key over a held or accepted revision of ${id} (POST the document with them to /v1/advisories to learn why each fails)`]);
      });
    },

    /**
     * `POST /v1/drills`: a drill composed and signed by tocsin alone (an admin asked for it; no
     * publisher signs), accepted through the same step as every document, so that it rehearses
     * rendering, signing, queues and workers exactly as an advisory goes through them.
     */
    async drill(selection: DrillSelection = {}, fixed?: { id: string; published: Date }): Promise<IntakeResult & { outcome: 'accepted' | 'duplicate' }> {
      // A scheduled drill's id and time come from its occurrence, so that every process composes
      // the same bytes and the second to archive them gets a duplicate, not a second drill.
      const published = (fixed?.published ?? now()).toISOString();
      const document = JSON.stringify({
        id: fixed?.id ?? `drill_${randomBytes(12).toString('hex')}`,
        revision: 1,
        kind: 'drill',
        title: 'Drill of the emergency broadcast',
        summary: `A rehearsal started by tocsin's operators at ${published}, to check that every channel still reaches its recipients. No action needed.`,
        published,
        ...selection,
      });
      const doc = parseDocument(document);
      const sha256 = createHash('sha256').update(document, 'utf8').digest('hex');
      const existing = await deps.archive.get({ id: doc.id, revision: 1 });
      const result = existing ? duplicateOrConflict(existing, sha256) : await accept(doc, document, sha256, [], []);
      if (result.outcome === 'held') throw new Error('a drill composed by tocsin is never held');
      return result;
    },

    /** A held revision's state, or null when there is none. */
    async holdStatus(ref: { id: string; revision: number }): Promise<HoldStatus | null> {
      const held = await deps.holds.get(ref);
      if (!held || held.outcome?.state === 'accepted') return null;
      return status(held, held.signatures);
    },

    /** Records every hold whose time ran out (the periodic maintenance pass). Resolves to how many. */
    async expireHolds(): Promise<number> {
      let count = 0;
      for (const info of await deps.holds.open()) {
        if (Date.parse(info.expires_at) > now().getTime()) continue;
        await withIdLock(info.id, async () => {
          const held = await deps.holds.get(info);
          if (held && !held.outcome && !(await deps.archive.get(info))) {
            await refuseExpired(held).catch((err: unknown) => {
              if (!(err instanceof HoldExpiredError)) throw err;
            });
            count += 1;
          }
        });
      }
      return count;
    },
  };
}

function duplicateOrConflict(existing: ArchivedAdvisory, sha256: string, latest = existing.record.revision): IntakeResult {
  if (existing.record.sha256 === sha256) return { outcome: 'duplicate', record: existing.record, delivery: 'queued' };
  const { id, revision } = existing.record;
  throw new RevisionConflictError(`${id} revision ${revision} already exists with other content: publish revision ${latest + 1}`, latest);
}

function parseDocument(text: string): AdvisoryDocument {
  let json: unknown;
  try {
    json = parseStrictJson(text);
  } catch (err) {
    if (err instanceof DuplicateKeyError) throw new InvalidSubmissionError([{ field: ['document', ...err.path].join('.'), message: DUPLICATE_KEY }]);
    throw new InvalidSubmissionError([{ field: 'document', message: `not valid JSON: ${(err as Error).message}` }]);
  }
  const parsed = advisoryDocumentSchema.safeParse(json);
  if (!parsed.success) {
    throw new InvalidSubmissionError(fieldProblems(parsed.error, 'document'));
  }
  return parsed.data;
}
