import type { Logger } from 'pino';
import type { AdvisoryRecord, AdvisoryRef, ArchivedAdvisory } from '../advisory/record';
import type { AdvisoryDocument, BulletinDocument } from '../advisory/schema';
import { SETTLED_MARK } from '../delivery/dead-letters';
import { deliveryStages, heldForEmbargo, type DeliveryStage } from '../queue/delivery-stages';
import type { Recipient } from '../recipients/recipient';
import type { AdvisoryArchive, Audience } from '../storage/advisory-archive';
import { createEmbargoSchedule } from './embargo-schedule';
import { admissionAudience, receiversOf, releaseAudience } from './revision-audience';

/** `queued`: the jobs are in Redis; `pending`: archived, but Redis did not answer in time, and recovery queues it. */
export type DeliveryStart = 'queued' | 'pending';

export interface ReleaseStepDeps {
  archive: AdvisoryArchive;
  recipients: { all(): AsyncIterable<Recipient> };
  /** Queues one stage of a revision (see queue/enqueue-advisory.ts); may reject while Redis is down. */
  enqueue: (archived: ArchivedAdvisory, stage: DeliveryStage) => Promise<void>;
  enqueueTimeoutMs: number;
  /**
   * The reconciler's lock over settled marks: a release takes the revision's mark back, and no
   * recovery pass may put it back between that and the release's own record.
   */
  exclusive: <T>(fn: () => Promise<T>) => Promise<T>;
  /** Told of each release once it is recorded (e.g. to rebuild the mirror); must not throw. */
  onReleased?: (record: AdvisoryRecord) => void;
  log: Logger;
  /** Tocsin's own clock, UTC. Default: the system's. */
  now?: () => Date;
}

/** A revision whose recipients outside the embargo still wait, and when they are due. */
export interface ScheduledRelease {
  ref: AdvisoryRef;
  release_at: string;
  /** Whom the release would add if it happened now. */
  audience: Audience;
}

/**
 * The one step between acceptance and sending, through its gates in order: routing chooses the
 * recipients (release/routing.ts: TLP, filter, earlier receivers), the embargo holds back everyone
 * outside its audience (queue/delivery-stages.ts says whether it did), and the queue sends. The
 * intake calls `admit` once a revision has enough signatures; the embargo schedule calls
 * `releaseDue`, at start, at each maintenance pass and at the timer; the reconciler and replay
 * queue again what the archive says these two decided.
 */
export function createReleaseStep(deps: ReleaseStepDeps) {
  const now = deps.now ?? (() => new Date());

  async function startDelivery(archived: ArchivedAdvisory, stage: DeliveryStage): Promise<DeliveryStart> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timed out queueing')), deps.enqueueTimeoutMs);
    });
    try {
      await Promise.race([deps.enqueue(archived, stage), timeout]);
      return 'queued';
    } catch (err) {
      deps.log.warn({ advisory: archived.record.id, revision: archived.record.revision, err }, 'archived but not yet queued: recovery will queue it');
      return 'pending';
    } finally {
      clearTimeout(timer);
    }
  }

  /** Latest revisions of ids still under an embargo that has not been released (nor retracted). */
  async function waiting(): Promise<ArchivedAdvisory[]> {
    const out: ArchivedAdvisory[] = [];
    for (const id of await deps.archive.ids()) {
      const latest = (await deps.archive.revisions(id)).at(-1);
      if (latest === undefined) continue;
      const archived = await deps.archive.get({ id, revision: latest });
      // An earlier revision's embargo gives way to the latest's: moved later, it must not fire.
      if (!archived || !heldForEmbargo(archived.record)) continue;
      if (await deps.archive.releaseOf(archived.record)) continue;
      if (await deps.archive.retractionOf(id)) continue;
      out.push(archived);
    }
    return out;
  }

  async function release(archived: ArchivedAdvisory): Promise<void> {
    const { record } = archived;
    const doc = JSON.parse(archived.document) as BulletinDocument;
    const audience = await releaseAudience(doc, deps.recipients.all(), await deps.archive.acceptedAudience(record));
    // The audience's deliveries may have settled: the revision is open again before it grows.
    await deps.archive.unmark(record, SETTLED_MARK);
    if (!(await deps.archive.release(record, { at: now().toISOString(), audience }))) return;
    const stage = (await deliveryStages(deps.archive, archived)).at(-1)!;
    deps.log.info({ advisory: record.id, revision: record.revision, embargo_until: record.embargo_until }, 'embargo ended: released to every recipient it is meant for');
    deps.onReleased?.(record);
    await startDelivery(archived, stage);
  }

  async function releaseDue(): Promise<number> {
    return deps.exclusive(async () => {
      let released = 0;
      for (const archived of await waiting()) {
        if (Date.parse(archived.record.embargo_until!) > now().getTime()) continue;
        await release(archived);
        released += 1;
      }
      return released;
    });
  }

  const schedule = createEmbargoSchedule({
    pending: async () => (await waiting()).map((a) => new Date(a.record.embargo_until!)),
    releaseDue,
    now,
    log: deps.log,
  });

  return {
    /**
     * Archives an accepted revision with its routing decision, then queues it to those who may
     * have it now: everyone it is meant for, or under an embargo its audience only (the rest at
     * the embargo's end). A retraction also marks what it withdraws. Rejects with
     * RevisionExistsError when another process archived this revision first.
     */
    async admit(archived: ArchivedAdvisory, doc: AdvisoryDocument): Promise<DeliveryStart> {
      const { record } = archived;
      const earlier = doc.kind === 'retraction' ? await receiversOf(deps.archive, doc.retracts) : await receiversOf(deps.archive, doc.id, doc.revision);
      const embargoed = heldForEmbargo(record);
      const audience = await admissionAudience(doc, deps.recipients.all(), earlier, embargoed);
      await deps.archive.store(archived, audience);
      if (doc.kind === 'retraction') await deps.archive.markRetracted(doc.retracts, record);
      const [first] = await deliveryStages(deps.archive, archived, audience);
      const delivery = await startDelivery(archived, first!);
      // A new embargo, one moved, or one withdrawn: the timer follows the latest revision's end.
      if (record.embargo_until !== undefined || doc.kind === 'retraction') void schedule.check();
      return delivery;
    },

    /** Releases every revision whose embargo has ended (by tocsin's clock); resolves to how many. */
    releaseDue,

    /** What waits for a revision's embargo to end, or null when nothing does. */
    async scheduled(ref: AdvisoryRef): Promise<ScheduledRelease | null> {
      const archived = await deps.archive.get(ref);
      if (!archived || !heldForEmbargo(archived.record)) return null;
      if ((await deps.archive.revisions(ref.id)).at(-1) !== ref.revision) return null;
      if ((await deps.archive.releaseOf(ref)) || (await deps.archive.retractionOf(ref.id))) return null;
      const doc = JSON.parse(archived.document) as BulletinDocument;
      const audience = await releaseAudience(doc, deps.recipients.all(), await deps.archive.acceptedAudience(ref));
      return { ref, release_at: new Date(archived.record.embargo_until).toISOString(), audience };
    },

    /**
     * Before the first check: a retraction archived by a process that stopped before marking what
     * it withdraws is marked now, so no release of the withdrawn advisory can fire.
     */
    async start(): Promise<void> {
      for (const record of await deps.archive.records()) if (record.retracts) await deps.archive.markRetracted(record.retracts, record);
      await schedule.check();
    },

    /** Releases what is due and sets the timer to the next embargo end (the maintenance pass). */
    check: () => schedule.check(),
    close: () => schedule.close(),
  };
}
export type ReleaseStep = ReturnType<typeof createReleaseStep>;
