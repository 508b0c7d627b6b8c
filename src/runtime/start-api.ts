import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Logger } from 'pino';
import { enabledChannels, type Config } from '../config';
import { createDeliveryStateStore } from '../delivery/delivery-state';
import { createApp } from '../http/app';
import { BroadcasterKeyMissingError, createBroadcasterKey, loadBroadcasterKey, type BroadcasterKey } from '../pgp/broadcaster-key';
import { loadPublisherKeyring, type PublisherKeyring } from '../pgp/publisher-keyring';
import { createAdvisoryIntake } from '../publish/advisory-intake';
import { createDeliveryQueues } from '../queue/delivery-queues';
import { enqueueAdvisory } from '../queue/enqueue-advisory';
import { renderNotices } from '../notices/render-notices';
import { createReconciler } from '../queue/reconciler';
import { openRecipientStore } from '../recipients/recipient-store';
import { createAdvisoryArchive } from '../storage/advisory-archive';
import { connectRedis, createRedis } from './redis-connection';

/** How often the API re-reads publisher keys and reconciles Redis with the archive. */
const MAINTENANCE_INTERVAL_MS = 30_000;

export interface RunningApi {
  server: Server;
  port: number;
  broadcaster: BroadcasterKey;
  /** Runs one reconcile pass now (tests and operators use it to avoid waiting). */
  reconcile: () => Promise<number>;
  close: () => Promise<void>;
}

/** Loads the broadcaster key, creating a development key (loudly) on first start. */
export async function ensureBroadcasterKey(config: Config, log: Logger): Promise<BroadcasterKey> {
  try {
    return await loadBroadcasterKey(config.keysDir, config.keyPassphrase);
  } catch (err) {
    if (!(err instanceof BroadcasterKeyMissingError)) throw err;
  }
  const key = await createBroadcasterKey({ keysDir: config.keysDir, email: config.keyEmail, passphrase: config.keyPassphrase });
  log.warn(
    { fingerprint: key.fingerprint, keysDir: config.keysDir, encrypted: Boolean(config.keyPassphrase) },
    '*** CREATED A DEVELOPMENT BROADCASTER KEY. Recipients will trust whatever key you publish first: ' +
      'for production, run "tocsin keys init" with TOCSIN_KEY_PASSPHRASE set, move the revocation ' +
      'certificate offline, and publish the fingerprint out of band. ***',
  );
  return key;
}

export async function startApi(config: Config, log: Logger): Promise<RunningApi> {
  const redis = createRedis(config.redisUrl, 'client');
  redis.on('error', (err) => log.debug({ err: err.message }, 'redis connection error'));
  await connectRedis(redis, config.redisUrl);

  const broadcaster = await ensureBroadcasterKey(config, log);
  const publishersDir = path.join(config.keysDir, 'publishers');
  let keyring: PublisherKeyring = await loadPublisherKeyring(publishersDir);
  const reportKeyring = (k: PublisherKeyring) => {
    for (const r of k.refused) log.error({ file: r.file, reason: r.reason }, 'publisher key refused');
    if (k.keys.length === 0) log.warn({ dir: publishersDir }, 'no publisher keys enrolled: every submission will be refused (401)');
  };
  reportKeyring(keyring);

  const archive = createAdvisoryArchive(config.dataDir);
  const recipients = await openRecipientStore(config.dataDir, redis, config.prefix);
  const queues = createDeliveryQueues(redis, config.prefix);
  // While Redis is down the queues report errors; accepting goes on (archived, delivery pending).
  for (const queue of Object.values(queues)) queue.on('error', (err) => log.debug({ err: err.message, queue: queue.name }, 'queue error'));
  const states = createDeliveryStateStore(redis, config.prefix);
  const renderContext = { broadcaster, publicUrl: config.publicUrl, templatesDir: config.templatesDir };
  const enqueueDeps = {
    redis,
    queues,
    prefix: config.prefix,
    batchSize: config.fanoutBatchSize,
    render: (archived: Parameters<typeof renderNotices>[0], audience: Parameters<typeof renderNotices>[1]) => renderNotices(archived, audience, renderContext),
  };
  const enqueue = (archived: Parameters<typeof enqueueAdvisory>[1], audience: Parameters<typeof enqueueAdvisory>[2]) =>
    enqueueAdvisory(enqueueDeps, archived, audience);

  const intake = createAdvisoryIntake({
    keyring: () => keyring,
    broadcaster,
    archive,
    recipients,
    enqueue,
    enqueueTimeoutMs: 5_000,
    log,
  });
  const reconciler = createReconciler({ archive, redis, prefix: config.prefix, states, recipients, enqueue, log });

  const app = createApp({
    log,
    adminToken: config.adminToken,
    broadcaster,
    intake,
    archive,
    deliveries: states,
    recipients,
    allowPrivateTargets: config.allowPrivateTargets,
    enabledChannels: enabledChannels(config),
    readiness: async () => {
      const problems: Record<string, string> = {};
      try {
        await Promise.race([redis.ping(), new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 1_000).unref())]);
      } catch {
        problems.redis = 'unreachable: accepted advisories are archived and will be queued once it is back';
      }
      return problems;
    },
  });

  await reconciler.run().catch((err: unknown) => log.error({ err }, 'reconcile at start failed'));
  // Back from an outage (or a restart that lost everything): queue what was accepted meanwhile
  // at once, not at the next periodic pass.
  redis.on('ready', () => {
    log.info('redis is back: reconciling with the archive');
    reconciler.run().catch((err: unknown) => log.warn({ err: (err as Error).message }, 'reconcile after reconnect failed; the periodic pass will retry'));
  });
  const timer = setInterval(() => {
    void (async () => {
      try {
        keyring = await loadPublisherKeyring(publishersDir);
        await reconciler.run();
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'maintenance pass failed; will try again');
      }
    })();
  }, MAINTENANCE_INTERVAL_MS);
  timer.unref();

  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(config.port, config.host, () => resolve(s));
    s.once('error', reject);
  });
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  const port = (server.address() as AddressInfo).port;
  log.info({ port, host: config.host, fingerprint: broadcaster.fingerprint, publishers: keyring.keys.length }, 'tocsin API listening');

  return {
    server,
    port,
    broadcaster,
    reconcile: () => reconciler.run(),
    async close() {
      clearInterval(timer);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await Promise.all(Object.values(queues).map((q) => q.close()));
      await recipients.close();
      redis.disconnect();
    },
  };
}
