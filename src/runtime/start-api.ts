import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Logger } from 'pino';
import { channelNames, type ChannelName } from '../channels/channel-names';
import { enabledChannels, type Config } from '../config';
import { createDeliveryStateStore } from '../delivery/delivery-state';
import { createApp } from '../http/app';
import { createMetricsCollector } from '../metrics/collect-metrics';
import { createDeliveryTally } from '../metrics/delivery-tally';
import { answerClientErrors, answerUnmetExpectations } from '../http/client-error';
import { BroadcasterKeyMissingError, createBroadcasterKey, loadBroadcasterKey, type BroadcasterKey } from '../pgp/broadcaster-key';
import { createBroadcasterKeys, type BroadcasterKeys } from '../pgp/broadcaster-keys';
import { keyReadiness } from '../pgp/key-readiness';
import { openPublisherRegistry } from '../publishers/publisher-registry';
import { requiredSignatures } from '../publish/signature-policy';
import { createHoldStore } from '../storage/hold-store';
import { createAdvisoryIntake } from '../publish/advisory-intake';
import { createDeliveryQueues } from '../queue/delivery-queues';
import { enqueueAdvisory } from '../queue/enqueue-advisory';
import { createNoticeRenderThread } from '../notices/render-in-thread';
import { createReconciler } from '../queue/reconciler';
import { overdueUpdates, overdueWarning } from '../release/overdue-updates';
import { createReleaseStep } from '../release/release-step';
import { createDeliveryReplayer } from '../queue/replay-deliveries';
import { openRecipientStore } from '../recipients/recipient-store';
import { openSubscriptions } from '../subscriptions/open-subscriptions';
import { createAdvisoryArchive } from '../storage/advisory-archive';
import { createReceiptLog } from '../storage/receipt-log';
import { startReceiptCollector } from '../delivery/receipt-collector';
import { connectRedis, createRedis } from './redis-connection';
import { lastDeliveriesOf, staleChannelWarnings } from '../drills/channel-freshness';
import { createDrillSchedule, scheduledDrillId } from '../drills/drill-schedule';
import { explainKeyLoadFailure } from './key-load-failure';
import { listen } from './listen';
import { ensureWritableDir } from './writable-dir';
import { RECEIPTS_OFF_WARNING } from './receipts-off';
import { createViewBudgets } from '../http/view-budget';
import { systemRuntimeDeps, type RuntimeDeps } from './runtime-deps';
import { createMirrorBuildThread } from '../mirror/build-in-thread';
import { createMirrorRebuilder, type MirrorRebuilder } from '../mirror/mirror-rebuilder';
import { openDrillAckKey } from '../drills/drill-ack-key';
import { createDrillAckStore } from '../storage/drill-ack-store';
import { removeSpools } from '../storage/spool-file';

/** How often the API re-reads publisher keys, expires held submissions and reconciles Redis with the archive. */
const MAINTENANCE_INTERVAL_MS = 30_000;

export interface RunningApi {
  server: Server;
  port: number;
  /** The current broadcaster key as the API last read it (it follows rotations). */
  readonly broadcaster: BroadcasterKey;
  keys: BroadcasterKeys;
  /** Runs one reconcile pass now (tests and operators use it to avoid waiting). */
  reconcile: () => Promise<number>;
  /** Runs the whole periodic pass now: re-read publisher keys, expire holds, reconcile. */
  maintain: () => Promise<void>;
  /** Resolves once every subscription request answered so far has sent its mail (tests use it to avoid waiting). */
  subscriptionsIdle: () => Promise<void>;
  /** The static mirror's rebuilder, when TOCSIN_MIRROR_AUTO is on. */
  mirror: MirrorRebuilder | null;
  close: () => Promise<void>;
}

/** Loads the broadcaster key, creating a development key (loudly) on first start. */
export async function ensureBroadcasterKey(config: Config, log: Logger): Promise<BroadcasterKey> {
  try {
    return await loadBroadcasterKey(config.keysDir, config.keyPassphrase);
  } catch (err) {
    if (!(err instanceof BroadcasterKeyMissingError)) throw explainKeyLoadFailure(err, config.keysDir);
  }
  await ensureWritableDir(config.keysDir, 'TOCSIN_KEYS_DIR');
  const key = await createBroadcasterKey({ keysDir: config.keysDir, email: config.keyEmail, passphrase: config.keyPassphrase });
  log.warn(
    { fingerprint: key.fingerprint, keysDir: config.keysDir, encrypted: Boolean(config.keyPassphrase) },
    '*** CREATED A DEVELOPMENT BROADCASTER KEY. Recipients will trust whatever key you publish first: ' +
      'for production, run "tocsin keys init" with TOCSIN_KEY_PASSPHRASE set, move the revocation ' +
      'certificate offline, and publish the fingerprint out of band. ***',
  );
  return key;
}

export async function startApi(config: Config, log: Logger, deps: RuntimeDeps = systemRuntimeDeps): Promise<RunningApi> {
  await ensureWritableDir(config.dataDir, 'TOCSIN_DATA_DIR');
  const redis = createRedis(config.redisUrl, 'client');
  redis.on('error', (err) => log.debug({ err: err.message }, 'redis connection error'));
  await connectRedis(redis, config.redisUrl);

  await ensureBroadcasterKey(config, log);
  const keys = createBroadcasterKeys(config.keysDir, config.keyPassphrase);
  const broadcaster = (await keys.snapshot()).current;
  let announced = broadcaster.fingerprint;
  let reported = '';
  /** Says once (per change) in the log what /readyz says about the key. */
  const reportKeyHealth = () => {
    keys
      .health()
      .then((health) => {
        const { problem, warning } = keyReadiness(health);
        const said = `${health.fingerprint}|${problem ?? ''}|${warning ?? ''}`;
        if (said === reported) return;
        reported = said;
        if (problem) log.error({ fingerprint: health.fingerprint }, `broadcaster key: ${problem}`);
        else if (warning) log.warn({ fingerprint: health.fingerprint }, `broadcaster key: ${warning}`);
      })
      .catch((err: unknown) => log.warn({ err: (err as Error).message }, 'could not check the broadcaster key'));
  };
  reportKeyHealth();
  const publishersDir = path.join(config.keysDir, 'publishers');
  const publishers = await openPublisherRegistry({ dir: publishersDir, dataDir: config.dataDir, log });
  const keyring = publishers.keyring();
  for (const r of keyring.refused) log.error({ file: r.file, reason: r.reason }, 'publisher key refused');
  if (keyring.keys.length === 0) log.warn({ dir: publishersDir }, 'no publisher keys enrolled: every submission will be refused (401)');

  const archive = createAdvisoryArchive(config.dataDir);
  const recipients = await openRecipientStore(config.dataDir, redis, config.prefix);
  // What an import that was under way when the process stopped left: it holds recipients' secrets.
  const importSpoolDir = path.join(config.dataDir, 'import-spool');
  await removeSpools(importSpoolDir);
  const queues = createDeliveryQueues(redis, config.prefix);
  // While Redis is down the queues report errors; accepting goes on (archived, delivery pending).
  for (const queue of Object.values(queues)) queue.on('error', (err) => log.debug({ err: err.message, queue: queue.name }, 'queue error'));
  const states = createDeliveryStateStore(redis, config.prefix);
  const receipts = createReceiptLog(config.dataDir);
  // Rendering, signing and mirror builds run in worker threads: no document stalls intake.
  const notices = createNoticeRenderThread({ signer: () => keys.signer(), publicUrl: config.publicUrl, templatesDir: config.templatesDir });
  const enqueueDeps = { redis, queues, prefix: config.prefix, batchSize: config.fanoutBatchSize, render: notices.render };
  const enqueue = (archived: Parameters<typeof enqueueAdvisory>[1], stage: Parameters<typeof enqueueAdvisory>[2]) => enqueueAdvisory(enqueueDeps, archived, stage);
  const requeue: typeof enqueue = (archived, stage) => enqueueAdvisory(enqueueDeps, archived, stage, { recovered: true });

  // The API process owns TOCSIN_DATA_DIR, so it keeps the mirror there current: after each
  // acceptance, once the answer is on its way (schedule() only sets a timer).
  const mirrorBuild = config.mirror.auto ? createMirrorBuildThread({ keys, keysDir: config.keysDir, dataDir: config.dataDir, config: config.mirror }) : null;
  const mirror = mirrorBuild ? createMirrorRebuilder(mirrorBuild.build, log) : null;
  const holds = createHoldStore(config.dataDir);
  const maxAttempts = (channel: ChannelName) => (channel === 'webhook' ? config.webhook.maxAttempts : config.channels.maxAttempts);
  const reconciler = createReconciler({
    archive,
    redis,
    prefix: config.prefix,
    states,
    receipts,
    recipients,
    enqueue: requeue,
    queues,
    batchSize: config.fanoutBatchSize,
    maxAttempts,
    log,
  });
  const release = createReleaseStep({
    archive,
    recipients,
    enqueue,
    enqueueTimeoutMs: 5_000,
    exclusive: reconciler.exclusive,
    onReleased: () => mirror?.schedule(),
    log,
  });
  const intake = createAdvisoryIntake({
    keyring: () => publishers.keyring(),
    holds,
    signaturesRequired: (severity) => requiredSignatures(config.signaturePolicy, severity),
    holdMs: config.holdMs,
    signer: () => keys.signer(),
    onAccepted: () => mirror?.schedule(),
    archive,
    release,
    log,
  });
  const replayer = createDeliveryReplayer({
    archive,
    redis,
    prefix: config.prefix,
    states,
    receipts,
    queues,
    recipients,
    render: enqueueDeps.render,
    exclusive: reconciler.exclusive,
    maxAttempts,
    log,
  });

  const subscribing = await openSubscriptions({
    config,
    redis,
    recipients,
    signer: () => keys.signer(),
    now: deps.now ?? Date.now,
    log,
    ...(deps.subscriptionMailRetry ? { retry: deps.subscriptionMailRetry } : {}),
  });

  // The delivery numbers of /metrics, counted from the receipts on disk: read them all now, not at the first scrape.
  const tally = createDeliveryTally({ dataDir: config.dataDir, maxAttempts });
  void archive
    .records()
    .then((records) => tally.of(records))
    .catch((err: unknown) => log.warn({ err: (err as Error).message }, 'could not count the delivery receipts for /metrics; the first scrape will'));

  // Made now if it is missing, so a bad data directory shows at start, not at someone's click.
  const drillAckKeyOnce = await openDrillAckKey(config.dataDir);
  const app = createApp({
    log,
    trustProxy: config.subscriptions.trustProxy,
    subscriptions: subscribing.subscriptions,
    subscriptionLimits: subscribing.limits,
    publicUrl: config.publicUrl,
    adminToken: config.adminToken,
    keys,
    intake,
    archive,
    holds,
    publishers,
    deliveries: states,
    receipts,
    replayer,
    recipients,
    drillAcks: createDrillAckStore(config.dataDir),
    drillAckKey: () => Promise.resolve(drillAckKeyOnce),
    scheduledRelease: (ref) => release.scheduled(ref),
    viewBudgets: deps.viewBudgets ?? createViewBudgets(),
    allowPrivateTargets: config.allowPrivateTargets,
    resolveHost: deps.resolveHost,
    enabledChannels: enabledChannels(config),
    importSpoolDir,
    metrics: createMetricsCollector({ archive, tally, queues }),
    metricsToken: config.metricsToken,
    readiness: async () => {
      const problems: Record<string, string> = {};
      try {
        await Promise.race([redis.ping(), new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 1_000).unref())]);
      } catch {
        problems.redis = 'unreachable: accepted advisories are archived and will be queued once it is back';
      }
      const key = keyReadiness(await keys.health());
      if (key.problem) problems.broadcaster_key = key.problem;
      return problems;
    },
    warnings: async (): Promise<Record<string, string>> => {
      const key = keyReadiness(await keys.health());
      const incidents = overdueWarning(await overdueUpdates(archive, new Date()));
      const stale = await channelWarnings();
      return { ...(key.warning ? { broadcaster_key: key.warning } : {}), ...(incidents ? { incident_updates: incidents } : {}), ...stale };
    },
    lastDeliveries: () => lastDeliveries(),
  });

  // The workers' outcomes reach the data dir through Redis: this process writes them to disk.
  const receiptsRedis = createRedis(config.redisUrl, 'client');
  receiptsRedis.on('error', (err) => log.debug({ err: err.message }, 'redis connection error (receipts)'));
  await connectRedis(receiptsRedis, config.redisUrl);
  if (config.receiptsOff) log.warn(RECEIPTS_OFF_WARNING);
  const collector = config.receiptsOff
    ? null
    : startReceiptCollector({ redis: receiptsRedis, prefix: config.prefix, receipts, committed: reconciler.receiptsCommitted, log });
  /** Each channel's latest successful delivery, from the durable receipts: a Redis loss does not make a channel look silent. */
  const readLastDeliveries = async () => lastDeliveriesOf(await tally.of(await archive.records()));
  /** Each channel's latest successful delivery, as ISO time; {} when it cannot be read soon. */
  async function lastDeliveries(): Promise<Partial<Record<ChannelName, string | null>>> {
    const last = await withinSecond(readLastDeliveries());
    if (!last) return {};
    return Object.fromEntries(channelNames.map((c) => [c, last[c] === null ? null : new Date(last[c]).toISOString()]));
  }
  /** `/readyz` must answer at once, whatever it reads. */
  async function withinSecond<T>(work: Promise<T>): Promise<T | null> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), 1_000)));
    try {
      return await Promise.race([work.catch(() => null), late]);
    } finally {
      clearTimeout(timer);
    }
  }
  async function channelWarnings(): Promise<Record<string, string>> {
    const last = await withinSecond(readLastDeliveries());
    if (!last) return {};
    return staleChannelWarnings(last, recipients.counts(), new Date(), config.channelStaleDays);
  }

  await reconciler.run().catch((err: unknown) => log.error({ err }, 'reconcile at start failed'));
  // Embargoes that ended while no API ran are released now; the timer takes the rest.
  await release.start().catch((err: unknown) => log.error({ err }, 'embargo release at start failed; the timer tries again'));
  // Back from an outage (or a restart that lost everything): queue what was accepted meanwhile
  // at once, not at the next periodic pass.
  redis.on('ready', () => {
    log.info('redis is back: reconciling with the archive');
    reconciler.run().catch((err: unknown) => log.warn({ err: (err as Error).message }, 'reconcile after reconnect failed; the periodic pass will retry'));
  });
  const maintain = async () => {
    await publishers.reload();
    // Requests re-read changed key files themselves; this pass makes a change visible in the log.
    const current = (await keys.snapshot()).current.fingerprint;
    if (current !== announced) log.info({ from: announced, to: current }, 'broadcaster key changed');
    announced = current;
    const deleted = await keys.deleteRetiredKey().catch((err: unknown) => {
      log.warn({ err: (err as Error).message }, 'could not delete the previous broadcaster private key; will try again');
      return null;
    });
    if (deleted) log.info({ fingerprint: deleted }, "the previous broadcaster key's overlap has ended: its private key is deleted");
    reportKeyHealth();
    await intake.expireHolds();
    await reconciler.run();
    await release.check();
  };
  const timer = setInterval(() => {
    maintain().catch((err: unknown) => log.warn({ err: (err as Error).message }, 'maintenance pass failed; will try again'));
  }, MAINTENANCE_INTERVAL_MS);
  timer.unref();

  const server = await listen(app, config.port, config.host);
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  answerClientErrors(server);
  answerUnmetExpectations(server);
  const port = (server.address() as AddressInfo).port;
  log.info(
    { port, host: config.host, fingerprint: broadcaster.fingerprint, publishers: keyring.keys.length, signaturePolicy: config.signaturePolicy, auditHead: publishers.auditHead()?.hash ?? null },
    'tocsin API listening',
  );
  // Brings the mirror up to date with whatever was archived before this start.
  mirror?.schedule();
  const drills = config.drillSchedule === undefined
    ? null
    : createDrillSchedule({ expression: config.drillSchedule, log, startDrill: (at) => intake.drill({}, { id: scheduledDrillId(at), published: at }) });
  drills?.start();

  return {
    server,
    port,
    get broadcaster() {
      return keys.cached().current;
    },
    keys,
    reconcile: () => reconciler.run(),
    maintain,
    subscriptionsIdle: async () => subscribing.subscriptions?.idle(),
    mirror,
    async close() {
      clearInterval(timer);
      await drills?.close();
      await release.close();
      await mirror?.close();
      await mirrorBuild?.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await collector?.close();
      receiptsRedis.disconnect();
      await reconciler.idle();
      await receipts.close();
      // A render still running fails; its advisory is archived and the next start queues it.
      await notices.close();
      await Promise.all(Object.values(queues).map((q) => q.close()));
      await subscribing.close();
      await recipients.close();
      await publishers.close();
      redis.disconnect();
    },
  };
}
