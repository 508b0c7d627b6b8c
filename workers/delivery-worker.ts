import { DelayedError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AdvisoryRef } from '../src/advisory/record';
import type { Channel, Notice } from '../src/channels/channel';
import type { ChannelName } from '../src/channels/channel-names';
import { createCircuitBreaker, withCircuitBreaker, type CircuitBreakerOptions } from '../src/delivery/circuit-breaker';
import type { DeliveryObserver } from '../src/delivery/delivery-outcome';
import { createDeliveryStateStore } from '../src/delivery/delivery-state';
import type { DeliveryQueue } from '../src/queue/delivery-queues';
import { BACKOFF_TYPE, type DeliveryJobData, type DeliveryJobName, type NoticeStage } from '../src/queue/jobs';
import { NoticeMissingError } from '../src/queue/notice-missing-error';
import { redisKeys } from '../src/queue/redis-keys';
import type { Recipient } from '../src/recipients/recipient';
import { createRecipientDirectory, RecipientsNotLoadedError } from '../src/recipients/recipient-store';
import { createKeyedSemaphore } from '../src/util/keyed-semaphore';
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
  /** Sends in flight at once to one destination host (the dispatcher's connections per origin). */
  perDestinationConcurrency: number;
  /** This process's circuit breaker per destination host. */
  breaker: Omit<CircuitBreakerOptions, 'onChange'>;
  batchSize: number;
  /** Claim on a job without renewal, and the interval of the check for lapsed claims. */
  lockMs: number;
  log: Logger;
  /** Told every delivery outcome (see workers/delivery-observer.ts). */
  observe: DeliveryObserver;
  /** False only for the benchmark's receipts-off run (TOCSIN_BENCH_RECEIPTS_OFF). Default true. */
  receipts?: boolean;
}

/**
 * Runs of one job that may wait for recovery without counting as attempts (hours at the default
 * backoff): recovery restores what is missing within a minute of Redis answering, so a job still
 * waiting after this many is told apart by using up its attempts as any other failure would.
 */
const MAX_RECOVERY_WAITS = 2_000;

/** What a job cannot run without until recovery has rebuilt a Redis that lost its data. */
const awaitsRecovery = (err: unknown) => err instanceof NoticeMissingError || err instanceof RecipientsNotLoadedError;

/** Notices change only with a new revision, so each is read from Redis once per process. */
function createNoticeCache(redis: Redis, prefix: string, channel: ChannelName) {
  const keys = redisKeys(prefix);
  const cache = new Map<string, Promise<Notice>>();
  return (ref: AdvisoryRef, stage?: NoticeStage): Promise<Notice> => {
    const key = keys.notice(channel, ref, stage);
    let hit = cache.get(key);
    if (!hit) {
      hit = redis.get(key).then((raw) => {
        if (raw === null) throw new NoticeMissingError(channel, ref);
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
  const { connection, prefix } = options;
  const log = options.log.child({ channel: options.channel.name });
  const breaker = createCircuitBreaker({
    ...options.breaker,
    // Hosts are named in logs only: delivery records, which the read API shows, name none.
    onChange: (change) =>
      change.state === 'open'
        ? log.warn({ destination: change.destination, cooldown_ms: change.cooldownMs, last_error: change.lastError }, 'circuit opened: sends to this host wait out the cool-down')
        : log.info({ destination: change.destination }, 'circuit closed: the host answers again'),
  });
  const channel = withCircuitBreaker(options.channel, breaker);
  const ctx: DeliveryContext = {
    channelName: channel.name,
    channel,
    notice: createNoticeCache(connection, prefix, channel.name),
    recipients: createRecipientDirectory(connection, prefix),
    states: createDeliveryStateStore(connection, prefix, { receipts: options.receipts ?? true }),
    queue: options.queue,
    limiter: createSemaphore(options.concurrency),
    perDestination: createKeyedSemaphore(options.perDestinationConcurrency),
    policy: options.policy,
    log,
    observe: options.observe,
  };
  // Enough jobs at once to keep the shared send limit busy; the limit itself bounds the sockets.
  const jobConcurrency = Math.max(4, Math.ceil((options.concurrency / options.batchSize) * 2));

  const worker: DeliveryWorker = new Worker(
    channel.name,
    async (job, token, signal) => {
      const abort = signal ?? new AbortController().signal;
      try {
        if (job.name === 'batch') return await processBatch(ctx, job as Job<DeliveryJobData<'batch'>>, abort);
        if (job.name === 'retry') return await processRetry(ctx, job as Job<DeliveryJobData<'retry'>>, abort);
      } catch (err) {
        if (!awaitsRecovery(err) || token === undefined || job.attemptsStarted - job.attemptsMade > MAX_RECOVERY_WAITS) throw err;
        // Redis lost what the job needs and recovery will restore it from the archive: waiting
        // for it must not use up the recipients' attempts, as a thrown error would.
        await job.moveToDelayed(Date.now() + backoffDelay(options.policy, 2), token);
        ctx.log.warn({ advisory: job.data.ref.id, revision: job.data.ref.revision, job: job.id, err: (err as Error).message }, 'delivery job waits for recovery');
        throw new DelayedError((err as Error).message);
      }
      throw new Error(`unknown job name ${String(job.name)}`);
    },
    {
      connection,
      prefix,
      concurrency: jobConcurrency,
      // Started by startDeliveryWorker, once BullMQ's connection setup has succeeded.
      autorun: false,
      // A batch that stalls because its worker died is handed to another worker, never dropped.
      maxStalledCount: 100,
      lockDuration: options.lockMs,
      stalledInterval: options.lockMs,
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
    if (job?.name === 'batch') ctx.log.error({ advisory: job.data.ref.id, revision: job.data.ref.revision, job: job.id, err }, 'batch job failed; BullMQ will retry it');
  });
  worker.on('error', (err) => ctx.log.error({ err }, 'worker error'));
  return worker;
}

/** Tries to set a worker up before giving up: with the backoff below, about a minute. */
const SETUP_TRIES = 30;

/**
 * Creates the worker and starts it once BullMQ has set up its connection. When Redis fails during
 * that setup (the connect, or BullMQ's version check), BullMQ keeps the failure for good: the
 * worker stays connected and never takes a job. The fault suite caught that with a Redis killed
 * a few milliseconds after a worker started; such a worker is closed and made again.
 */
export async function startDeliveryWorker(options: DeliveryWorkerOptions): Promise<DeliveryWorker> {
  for (let attempt = 1; ; attempt++) {
    const worker = createDeliveryWorker(options);
    try {
      await worker.waitUntilReady();
    } catch (err) {
      await worker.close(true).catch(() => undefined);
      if (attempt >= SETUP_TRIES) throw err;
      options.log.warn({ channel: options.channel.name, err: (err as Error).message }, 'worker setup failed (Redis went away?): trying again');
      await new Promise((resolve) => setTimeout(resolve, Math.min(200 * attempt, 2_000)));
      continue;
    }
    worker.run().catch((err: unknown) => options.log.error({ channel: options.channel.name, err }, 'worker loop stopped'));
    return worker;
  }
}
