import { Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AdvisoryRef } from '../src/advisory/record';
import type { Channel, ChannelName, Notice } from '../src/channels/channel';
import { createDeliveryStateStore } from '../src/delivery/delivery-state';
import type { DeliveryQueue } from '../src/queue/delivery-queues';
import { BACKOFF_TYPE, type DeliveryJobData, type DeliveryJobName } from '../src/queue/jobs';
import { redisKeys } from '../src/queue/redis-keys';
import type { Recipient } from '../src/recipients/recipient';
import { createRecipientDirectory } from '../src/recipients/recipient-store';
import { createSemaphore } from '../src/util/semaphore';
import { processBatch, processRetry, type DeliveryContext } from './delivery-processor';
import { backoffDelay, ScheduledRetry, type RetryPolicy } from './retry-policy';

export interface DeliveryWorkerOptions {
  channel: Channel<Recipient>;
  /** Used by the worker itself; BullMQ needs `maxRetriesPerRequest: null` on it. */
  connection: Redis;
  queue: DeliveryQueue;
  prefix: string;
  policy: RetryPolicy;
  /** Sends in flight at once in this process, over all its jobs. */
  concurrency: number;
  batchSize: number;
  log: Logger;
}

/** Notices change only with a new revision, so each is read from Redis once per process. */
function createNoticeCache(redis: Redis, prefix: string, channel: ChannelName) {
  const keys = redisKeys(prefix);
  const cache = new Map<string, Promise<Notice>>();
  return (ref: AdvisoryRef): Promise<Notice> => {
    const key = keys.notice(channel, ref);
    let hit = cache.get(key);
    if (!hit) {
      hit = redis.get(key).then((raw) => {
        if (raw === null) throw new Error(`no ${channel} notice stored for ${ref.id} revision ${ref.revision}`);
        return JSON.parse(raw) as Notice;
      });
      hit.catch(() => cache.delete(key));
      if (cache.size > 256) cache.delete(cache.keys().next().value as string);
      cache.set(key, hit);
    }
    return hit;
  };
}

/** The worker pool of one channel: its own queue, its own concurrency, its own failures. */
export type DeliveryWorker = Worker<DeliveryJobData<DeliveryJobName>, string, DeliveryJobName>;

export function createDeliveryWorker(options: DeliveryWorkerOptions): DeliveryWorker {
  const { channel, connection, prefix } = options;
  const ctx: DeliveryContext = {
    channelName: channel.name,
    channel,
    notice: createNoticeCache(connection, prefix, channel.name),
    recipients: createRecipientDirectory(connection, prefix),
    states: createDeliveryStateStore(connection, prefix),
    queue: options.queue,
    limiter: createSemaphore(options.concurrency),
    policy: options.policy,
    log: options.log.child({ channel: channel.name }),
  };
  // Enough jobs at once to keep the shared send limit busy; the limit itself bounds the sockets.
  const jobConcurrency = Math.max(4, Math.ceil((options.concurrency / options.batchSize) * 2));

  const worker: DeliveryWorker = new Worker(
    channel.name,
    async (job, _token, signal) => {
      const abort = signal ?? new AbortController().signal;
      if (job.name === 'batch') return processBatch(ctx, job as Job<DeliveryJobData<'batch'>>, abort);
      if (job.name === 'retry') return processRetry(ctx, job as Job<DeliveryJobData<'retry'>>, abort);
      throw new Error(`unknown job name ${String(job.name)}`);
    },
    {
      connection,
      prefix,
      concurrency: jobConcurrency,
      // A batch that stalls because its worker died is handed to another worker, never dropped.
      maxStalledCount: 100,
      settings: {
        backoffStrategy: (attemptsMade, type, err) => {
          if (type !== BACKOFF_TYPE) return 0;
          if (err instanceof ScheduledRetry) return err.delayMs;
          return backoffDelay(options.policy, attemptsMade + 1);
        },
      },
    },
  );
  worker.on('failed', (job, err) => {
    if (job?.name === 'batch') ctx.log.error({ job: job.id, err }, 'batch job failed; BullMQ will retry it');
  });
  worker.on('error', (err) => ctx.log.error({ err }, 'worker error'));
  return worker;
}
