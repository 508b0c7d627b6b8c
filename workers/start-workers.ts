import { Queue } from 'bullmq';
import type { Logger } from 'pino';
import type { Config } from '../src/config';
import { createWebhookChannel } from '../src/channels/webhook';
import type { DeliveryQueue } from '../src/queue/delivery-queues';
import { connectRedis, createRedis } from '../src/runtime/redis-connection';
import { createDeliveryWorker } from './delivery-worker';

export interface RunningWorkers {
  /** Stops taking jobs, lets in-flight jobs finish, then disconnects. */
  close: () => Promise<void>;
}

const USER_AGENT = 'tocsin-webhook/0.1';

/** Starts one worker pool per channel. */
export async function startWorkers(config: Config, log: Logger): Promise<RunningWorkers> {
  const connection = createRedis(config.redisUrl, 'worker');
  connection.on('error', (err) => log.debug({ err: err.message }, 'redis connection error'));
  await connectRedis(connection, config.redisUrl);

  const webhook = createWebhookChannel({
    timeoutMs: config.webhook.timeoutMs,
    allowPrivateTargets: config.allowPrivateTargets,
    userAgent: USER_AGENT,
  });
  const webhookQueue = new Queue('webhook', { connection, prefix: config.prefix }) as DeliveryQueue;
  const workers = [
    createDeliveryWorker({
      channel: webhook,
      connection,
      queue: webhookQueue,
      prefix: config.prefix,
      policy: { maxAttempts: config.webhook.maxAttempts, baseMs: config.retry.baseMs, maxMs: config.retry.maxMs },
      concurrency: config.webhook.concurrency,
      batchSize: config.fanoutBatchSize,
      log,
    }),
  ];
  log.info({ channels: ['webhook'] }, 'tocsin workers started');

  return {
    async close() {
      await Promise.all(workers.map((w) => w.close()));
      await webhookQueue.close();
      await webhook.close();
      connection.disconnect();
    },
  };
}
