import { Queue } from 'bullmq';
import type { Logger } from 'pino';
import { enabledChannels, type Config } from '../src/config';
import { forAnyRecipient, type Channel } from '../src/channels/channel';
import type { ChannelName } from '../src/channels/channel-names';
import { createSlackChannel } from '../src/channels/slack';
import { createMastodonChannel } from '../src/channels/mastodon';
import { createEmailChannel } from '../src/channels/email';
import { createWebhookChannel } from '../src/channels/webhook';
import { CONNECTIONS_PER_ORIGIN } from '../src/net/guarded-dispatcher';
import type { DeliveryQueue } from '../src/queue/delivery-queues';
import type { Recipient } from '../src/recipients/recipient';
import { connectRedis, createRedis } from '../src/runtime/redis-connection';
import { systemRuntimeDeps, type RuntimeDeps } from '../src/runtime/runtime-deps';
import { createDeliveryObserver } from './delivery-observer';
import { createDrillAckLinks, type DrillAckLink } from '../src/drills/drill-ack-key';
import { RECEIPTS_OFF_WARNING } from '../src/runtime/receipts-off';
import { startDeliveryWorker } from './delivery-worker';

export interface RunningWorkers {
  /** Stops taking jobs, lets in-flight jobs finish, then disconnects. */
  close: () => Promise<void>;
}

const USER_AGENT = 'tocsin/0.1';

interface ChannelSetup {
  channel: Channel<Recipient>;
  concurrency: number;
  maxAttempts: number;
}

/** Builds each enabled channel from typed config: no channel reads the environment itself. */
function setUpChannel(name: ChannelName, config: Config, deps: RuntimeDeps, log: Logger, drillAckLink: DrillAckLink): ChannelSetup {
  switch (name) {
    case 'webhook':
      return {
        channel: forAnyRecipient('webhook', createWebhookChannel({ timeoutMs: config.webhook.timeoutMs, allowPrivateTargets: config.allowPrivateTargets, userAgent: USER_AGENT, resolveHost: deps.resolveHost })),
        concurrency: config.webhook.concurrency,
        maxAttempts: config.webhook.maxAttempts,
      };
    case 'slack':
      return {
        channel: forAnyRecipient('slack', createSlackChannel({ timeoutMs: config.channels.timeoutMs, allowPrivateTargets: config.allowPrivateTargets, resolveHost: deps.resolveHost, log, drillAckLink })),
        concurrency: config.channels.slackConcurrency,
        maxAttempts: config.channels.maxAttempts,
      };
    case 'mastodon':
      return {
        channel: forAnyRecipient('mastodon', createMastodonChannel({ timeoutMs: config.channels.timeoutMs, allowPrivateTargets: config.allowPrivateTargets, resolveHost: deps.resolveHost, log })),
        concurrency: config.channels.mastodonConcurrency,
        maxAttempts: config.channels.maxAttempts,
      };
    case 'email':
      return {
        channel: forAnyRecipient(
          'email',
          createEmailChannel({
            smtpUrls: config.email.smtpUrls,
            from: config.email.from ?? '',
            publicUrl: config.publicUrl,
            concurrency: config.email.concurrency,
            timeoutMs: config.channels.timeoutMs,
            relayCooldownMs: config.breaker.cooldownMs,
            relayMaxCooldownMs: config.breaker.maxCooldownMs,
            drillAckLink,
          }),
        ),
        concurrency: config.email.concurrency,
        maxAttempts: config.channels.maxAttempts,
      };
  }
}

/** Starts one worker pool per enabled channel, each on its own queue. */
export async function startWorkers(config: Config, log: Logger, deps: RuntimeDeps = systemRuntimeDeps, only?: readonly ChannelName[]): Promise<RunningWorkers> {
  const connection = createRedis(config.redisUrl, 'worker');
  connection.on('error', (err) => log.debug({ err: err.message }, 'redis connection error'));
  await connectRedis(connection, config.redisUrl);

  const observe = createDeliveryObserver(log);
  if (config.receiptsOff) log.warn(RECEIPTS_OFF_WARNING);
  const running: { close: () => Promise<void> }[] = [];
  const started: ChannelName[] = [];
  // The links' secret is in the data directory, shared with the API that checks them.
  const drillAckLink = createDrillAckLinks(config.dataDir, config.publicUrl);
  for (const name of enabledChannels(config).filter((c) => !only || only.includes(c))) {
    const setup = setUpChannel(name, config, deps, log, drillAckLink);
    const queue = new Queue(name, { connection, prefix: config.prefix }) as DeliveryQueue;
    const worker = await startDeliveryWorker({
      channel: setup.channel,
      connection,
      queue,
      prefix: config.prefix,
      policy: { maxAttempts: setup.maxAttempts, baseMs: config.retry.baseMs, maxMs: config.retry.maxMs },
      concurrency: setup.concurrency,
      perDestinationConcurrency: CONNECTIONS_PER_ORIGIN,
      breaker: config.breaker,
      batchSize: config.fanoutBatchSize,
      lockMs: config.jobLockMs,
      log,
      observe,
      receipts: !config.receiptsOff,
    });
    running.push({
      close: async () => {
        await worker.close();
        await queue.close();
        await setup.channel.close();
      },
    });
    started.push(name);
  }
  log.info({ channels: started }, 'tocsin workers started');

  return {
    async close() {
      await Promise.all(running.map((r) => r.close()));
      connection.disconnect();
    },
  };
}
