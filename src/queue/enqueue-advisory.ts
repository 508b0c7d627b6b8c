import type { Redis } from 'ioredis';
import type { ArchivedAdvisory } from '../advisory/record';
import type { Notice } from '../channels/channel';
import type { ChannelName } from '../channels/channel-names';
import type { Audience } from '../storage/advisory-archive';
import type { NoticeVariant } from '../notices/notice-variant';
import type { DeliveryQueues } from './delivery-queues';
import type { DeliveryStage } from './delivery-stages';
import { BACKOFF_TYPE, jobIds } from './jobs';
import { redisKeys } from './redis-keys';

export interface EnqueueDeps {
  redis: Redis;
  queues: DeliveryQueues;
  prefix: string;
  batchSize: number;
  /** Renders and signs each channel's notice; see notices/render-notices.ts. */
  render: (archived: ArchivedAdvisory, audience: Audience, variant?: NoticeVariant) => Promise<Map<ChannelName, Notice>>;
}

/** Batch jobs queued per addBulk. */
const ADD_BULK_JOBS = 20;

/** Batch jobs retry on infrastructure errors only (Redis hiccups); delivery retries are per recipient. */
const BATCH_ATTEMPTS = 25;

/**
 * Queues one stage of a revision (see delivery-stages.ts) for every channel: renders and stores
 * each channel's signed notice once, then one batch job per `batchSize` recipients. Idempotent:
 * job ids are deterministic, so running it again (recovery after a crash or a Redis loss) does not
 * queue the same batch twice. Recovery says `recovered`, so the batches know an earlier copy may
 * have sent some of their notices.
 */
export async function enqueueAdvisory(deps: EnqueueDeps, archived: ArchivedAdvisory, stage: DeliveryStage, options: { recovered?: boolean } = {}): Promise<void> {
  const ref = { id: archived.record.id, revision: archived.record.revision };
  const keys = redisKeys(deps.prefix);
  const { audience } = stage;
  const notices = await deps.render(archived, audience, stage.variant);
  for (const [channel, notice] of notices) {
    const recipients = audience[channel] ?? [];
    // NX: a notice already stored (a retried enqueue) keeps its bytes, so every recipient of a
    // stage gets the same signed notice.
    await deps.redis.set(keys.notice(channel, ref, stage.stage), JSON.stringify(notice), 'NX');
    let jobs = [];
    for (let i = 0; i * deps.batchSize < recipients.length; i++) {
      jobs.push({
        name: 'batch' as const,
        data: {
          ref,
          recipients: recipients.slice(i * deps.batchSize, (i + 1) * deps.batchSize),
          ...(options.recovered ? { recovered: true as const } : {}),
          ...(stage.stage ? { stage: stage.stage } : {}),
        },
        opts: {
          jobId: jobIds.batch(ref, i, stage.stage),
          attempts: BATCH_ATTEMPTS,
          backoff: { type: BACKOFF_TYPE },
          removeOnComplete: { age: 24 * 3600 },
          removeOnFail: { age: 30 * 24 * 3600 },
        },
      });
      // A few at a time: one addBulk of 100,000 recipients' batches holds every job, its data and
      // its command in memory at once (megabytes, at the API's busiest moment). Nothing needs them
      // in one transaction: job ids make a repeat harmless, and `enqueued` is set after the last.
      if (jobs.length >= ADD_BULK_JOBS) {
        await deps.queues[channel].addBulk(jobs);
        jobs = [];
      }
    }
    if (jobs.length > 0) await deps.queues[channel].addBulk(jobs);
  }
  await deps.redis.set(keys.enqueued(ref, stage.stage), new Date().toISOString());
}
