import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { channelNames } from '../channels/channel';
import type { DeliveryStateStore } from '../delivery/delivery-state';
import type { AdvisoryArchive, Audience } from '../storage/advisory-archive';
import type { ArchivedAdvisory } from '../advisory/record';
import type { RecipientStore } from '../recipients/recipient-store';
import { redisKeys } from './redis-keys';

/** Name of the archive mark written once every recipient of a revision is delivered or failed. */
export const SETTLED_MARK = 'settled';

export interface ReconcilerDeps {
  archive: AdvisoryArchive;
  redis: Redis;
  prefix: string;
  states: DeliveryStateStore;
  recipients: RecipientStore;
  enqueue: (archived: ArchivedAdvisory, audience: Audience) => Promise<void>;
  log: Logger;
}

/**
 * Brings Redis back in line with the durable archive: the recipients, and for every archived
 * revision that is not yet settled, its queued jobs. Covers an enqueue that failed while Redis was down, and a
 * Redis that restarted empty. Revisions whose recipients are all settled are marked so in the
 * archive and skipped from then on.
 */
export function createReconciler(deps: ReconcilerDeps) {
  const keys = redisKeys(deps.prefix);
  let running: Promise<number> | null = null;

  async function settled(archived: ArchivedAdvisory, audience: Audience): Promise<boolean> {
    const ref = archived.record;
    for (const channel of channelNames) {
      const ids = audience[channel] ?? [];
      if (ids.length === 0) continue;
      const states = await deps.states.getAll(channel, ref);
      if (ids.some((id) => { const s = states.get(id)?.state; return s !== 'delivered' && s !== 'failed'; })) return false;
    }
    return true;
  }

  async function pass(): Promise<number> {
    // Recipients first: jobs queued into a Redis that lost them would find nobody to deliver to.
    await deps.recipients.syncToRedis(deps.redis);
    let queued = 0;
    for (const record of await deps.archive.records()) {
      if (await deps.archive.hasMark(record, SETTLED_MARK)) continue;
      const archived = await deps.archive.get(record);
      if (!archived) continue;
      const audience = await deps.archive.audience(record);
      if ((await deps.redis.exists(keys.enqueued(record))) === 1) {
        if (await settled(archived, audience)) await deps.archive.mark(record, SETTLED_MARK, { at: new Date().toISOString() });
        continue;
      }
      await deps.enqueue(archived, audience);
      queued += 1;
      deps.log.info({ advisory: record.id, revision: record.revision }, 'recovery queued an archived advisory');
    }
    return queued;
  }

  return {
    /** One pass; concurrent calls share it. Resolves to how many revisions it queued. */
    run(): Promise<number> {
      running ??= pass().finally(() => {
        running = null;
      });
      return running;
    },
  };
}
