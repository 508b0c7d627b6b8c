import type { AdvisoryRecord, AdvisoryRef } from '../advisory/record';
import type { AdvisoryDocument, BulletinDocument, DocumentKind, RetractionDocument, StatusDocument } from '../advisory/schema';
import type { AdvisoryArchive } from '../storage/advisory-archive';
import { AdvisoryRetractedError, InvalidSubmissionError, NoSuchSubmissionError } from './intake-errors';

const KIND_NAMES: Record<DocumentKind, string> = { advisory: 'an advisory', mitigation: 'a mitigation note', retraction: 'a retraction', status: "an incident's status", drill: 'a drill' };

/** How far ahead an embargo may end, counted from when the id's embargo began (its first embargoed revision, or now). */
export const MAX_EMBARGO_DAYS = 90;
const MAX_EMBARGO_MS = MAX_EMBARGO_DAYS * 24 * 60 * 60 * 1000;

export interface DisclosureRulesDeps {
  archive: Pick<AdvisoryArchive, 'revisions' | 'get'>;
  /**
   * The accepted retraction that withdrew `id`, or null. The archive will answer this itself
   * (`retractionOf`); until then {@link retractionOfFromArchive} reads it from the records.
   */
  retractionOf: (id: string) => Promise<AdvisoryRef | null>;
  /** Tocsin's own clock (UTC): the embargo bound is measured on it, never on the publisher's. */
  now: () => Date;
}

/**
 * The rules of coordinated disclosure that depend on an id's history and on the clock, checked
 * before a revision is accepted or held. Each closes something an enrolled publisher, alone or
 * careless, could otherwise do to the partners or to the public: keep the public waiting for
 * ever, try to un-tell a partner, hide what was already public behind a new embargo, or revive
 * or re-withdraw a withdrawn advisory. What has been told cannot be untold; every rule follows
 * from that. The caller holds the id's lock.
 */
export function createDisclosureRules(deps: DisclosureRulesDeps) {
  async function history(id: string): Promise<AdvisoryRecord[]> {
    const out: AdvisoryRecord[] = [];
    for (const revision of await deps.archive.revisions(id)) {
      const archived = await deps.archive.get({ id, revision });
      if (archived) out.push(archived.record);
    }
    return out;
  }

  async function refuseRetracted(id: string, field: string): Promise<void> {
    const by = await deps.retractionOf(id);
    if (by) throw new AdvisoryRetractedError(id, by, field);
  }

  async function checkRetraction(doc: RetractionDocument, own: AdvisoryRecord[]): Promise<void> {
    if (doc.retracts === doc.id) {
      throw new InvalidSubmissionError([{ field: 'document.retracts', message: `names the retraction's own id: a retraction takes an id of its own and names the advisory it withdraws here` }]);
    }
    const latestOwn = own.at(-1);
    if (latestOwn && latestOwn.kind !== 'retraction') {
      throw new InvalidSubmissionError([{ field: 'document.kind', message: `${doc.id} is an ${latestOwn.kind} (revision ${latestOwn.revision} accepted): a retraction takes an id of its own` }]);
    }
    const target = await history(doc.retracts);
    // Held revisions do not count: to anyone but their publishers they do not exist yet.
    if (target.length === 0) throw new NoSuchSubmissionError(`no advisory ${doc.retracts}`, 'document.retracts');
    if (target.at(-1)!.kind === 'drill') {
      throw new InvalidSubmissionError([{ field: 'document.retracts', message: `${doc.retracts} is a drill: there is nothing to withdraw` }]);
    }
    if (target.at(-1)!.kind === 'retraction') {
      throw new InvalidSubmissionError([{ field: 'document.retracts', message: `${doc.retracts} is itself a retraction: a withdrawal cannot be withdrawn` }]);
    }
    if (target.at(-1)!.kind === 'status') {
      throw new InvalidSubmissionError([{ field: 'document.retracts', message: `${doc.retracts} is an incident's status: correct it with a new status revision, not a retraction` }]);
    }
    await refuseRetracted(doc.retracts, 'document.retracts');
  }

  /**
   * An incident's status and an advisory never share an id: a status revision would otherwise
   * reach an advisory's receivers as an update of it, or the reverse.
   */
  function checkKindKept(doc: BulletinDocument | StatusDocument, earlier: AdvisoryRecord[]): void {
    const first = earlier[0];
    // A bulletin under a retraction's id is refused by checkEmbargo, with its own reason.
    if (!first || (first.kind === 'retraction' && doc.kind !== 'status')) return;
    if ((first.kind === 'status') !== (doc.kind === 'status')) {
      throw new InvalidSubmissionError([
        { field: 'document.kind', message: `${doc.id} is ${KIND_NAMES[first.kind]} (revision ${first.revision} accepted): ${KIND_NAMES[doc.kind]} takes an id of its own` },
      ]);
    }
  }

  function checkEmbargo(doc: BulletinDocument, earlier: AdvisoryRecord[], now: Date): void {
    const latest = earlier.at(-1);
    if (latest?.kind === 'retraction') {
      throw new InvalidSubmissionError([{ field: 'document.kind', message: `${doc.id} is a retraction (revision ${latest.revision} accepted): it takes no advisory or mitigation revisions` }]);
    }
    // No embargo, or one already over: an ordinary publish (or the release of an embargoed id).
    if (doc.embargo_until === undefined || Date.parse(doc.embargo_until) <= now.getTime()) return;
    const until = Date.parse(doc.embargo_until);

    if (latest && !underEmbargo(latest, now)) {
      const why = latest.embargo_until === undefined ? `revision ${latest.revision} went out without an embargo` : `its embargo ended at ${latest.embargo_until}`;
      throw new InvalidSubmissionError([
        { field: 'document.embargo_until', message: `${doc.id} is already out (${why}): a new embargo cannot un-tell it; publish embargoed news under an id of its own` },
      ]);
    }

    const told = earlier.filter(toldUnderEmbargo);
    const began = told[0] ? new Date(told[0].accepted_at) : now;
    const limit = began.getTime() + MAX_EMBARGO_MS;
    if (until > limit) {
      const since = told[0] ? `the embargo of ${doc.id} began at ${told[0].accepted_at}` : `tocsin's clock says ${now.toISOString()}`;
      throw new InvalidSubmissionError([
        { field: 'document.embargo_until', message: `is more than ${MAX_EMBARGO_DAYS} days ahead (${since}): an embargo may end no later than ${new Date(limit).toISOString()}` },
      ]);
    }

    const audience = new Set(doc.audience ?? []);
    const dropped = [...new Set(told.flatMap((r) => r.audience ?? []))].filter((g) => !audience.has(g));
    if (dropped.length > 0) {
      throw new InvalidSubmissionError([
        {
          field: 'document.audience',
          message: `drops ${dropped.map((g) => `"${g}"`).join(', ')}, told under embargo by an earlier revision: it cannot be un-told; keep every group (and add groups to widen it), or end the embargo`,
        },
      ]);
    }
  }

  return {
    /**
     * Refuses a new revision, or a retraction, that the id's history or the clock rules out.
     * Run at submission and again when a held revision gathers its last signature, since the
     * history may have moved while it waited (a retraction, an embargo that ended).
     */
    async check(doc: AdvisoryDocument): Promise<void> {
      await refuseRetracted(doc.id, 'document.id');
      const own = await history(doc.id);
      if (doc.kind === 'retraction') return checkRetraction(doc, own);
      // An id stays a drill or stays a bulletin: a later revision of either kind across that line
      // would be shown, or hidden, with the other's history.
      const wasDrill = own.at(-1)?.kind === 'drill';
      if (own.length > 0 && wasDrill !== (doc.kind === 'drill')) {
        throw new InvalidSubmissionError([{ field: 'document.kind', message: `${doc.id} is ${wasDrill ? 'a drill: it takes drill revisions only' : `${KIND_NAMES[own.at(-1)!.kind]}: a drill takes an id of its own`}` }]);
      }
      // A drill has no embargo and names no other document.
      if (doc.kind === 'drill') return;
      if (doc.kind === 'status') return checkKindKept(doc, own);
      checkKindKept(doc, own);
      const now = deps.now();
      checkEmbargo(doc, own, now);
      if (doc.kind === 'mitigation' && doc.mitigates !== doc.id) checkMitigated(doc, (await history(doc.mitigates)).at(-1), now);
    },
  };
}

export type DisclosureRules = ReturnType<typeof createDisclosureRules>;

/**
 * A mitigation note names the advisory it mitigates, and says much about it: while that advisory
 * is under embargo, the note must be too, ending no earlier and told to no group the advisory's
 * embargo does not reach, or it would give the advisory away early.
 */
function checkMitigated(doc: Extract<BulletinDocument, { kind: 'mitigation' }>, mitigated: AdvisoryRecord | undefined, now: Date): void {
  if (!mitigated || !underEmbargo(mitigated, now)) return;
  const until = mitigated.embargo_until!;
  if (doc.embargo_until === undefined || Date.parse(doc.embargo_until) < Date.parse(until)) {
    throw new InvalidSubmissionError([
      { field: 'document.embargo_until', message: `${doc.mitigates} is under embargo until ${until}: a note mitigating it must be embargoed until then or later` },
    ]);
  }
  const outside = (doc.audience ?? []).filter((g) => !(mitigated.audience ?? []).includes(g));
  if (outside.length > 0) {
    throw new InvalidSubmissionError([
      { field: 'document.audience', message: `names ${outside.map((g) => `"${g}"`).join(', ')}, not told of ${doc.mitigates} under its embargo: a note mitigating it may go only to its audience` },
    ]);
  }
}

/** True while a record's embargo has not ended. */
function underEmbargo(record: AdvisoryRecord, now: Date): boolean {
  return record.embargo_until !== undefined && Date.parse(record.embargo_until) > now.getTime();
}

/** A revision accepted before its embargo's end: its audience was told while the public was not. */
function toldUnderEmbargo(record: AdvisoryRecord): boolean {
  return record.embargo_until !== undefined && Date.parse(record.embargo_until) > Date.parse(record.accepted_at);
}

/**
 * `retractionOf` read from the archive, until the archive keeps the answer itself: a retraction's
 * first record names what it withdraws in `retracts`. An id's kind is fixed by its first revision
 * (the rules refuse a retraction under an advisory's id and the reverse), and an archived record
 * never changes, so each id's first record is read once and remembered; a call then costs a
 * listing of the archive's ids.
 */
export function retractionOfFromArchive(archive: Pick<AdvisoryArchive, 'ids' | 'get'>): (id: string) => Promise<AdvisoryRef | null> {
  const first = new Map<string, Pick<AdvisoryRecord, 'kind' | 'retracts'>>();
  return async (id) => {
    for (const other of await archive.ids()) {
      let record = first.get(other);
      if (!record) {
        const archived = await archive.get({ id: other, revision: 1 });
        if (!archived) continue;
        record = { kind: archived.record.kind, retracts: archived.record.retracts };
        first.set(other, record);
      }
      if (record.kind === 'retraction' && record.retracts === id) return { id: other, revision: 1 };
    }
    return null;
  };
}
