import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { ArchivedAdvisory } from '../../src/advisory/record';
import type { SettledMark } from '../../src/delivery/dead-letters';
import { createReceiptLog } from '../../src/storage/receipt-log';
import { createDeliveryStateStore } from '../../src/delivery/delivery-state';
import { createLogger } from '../../src/log';
import { renderNotices } from '../../src/notices/render-notices';
import { createBroadcasterKeys } from '../../src/pgp/broadcaster-keys';
import { createDeliveryQueues } from '../../src/queue/delivery-queues';
import { enqueueAdvisory } from '../../src/queue/enqueue-advisory';
import { createReconciler, SETTLED_MARK } from '../../src/queue/reconciler';
import { redisKeys } from '../../src/queue/redis-keys';
import { createDeliveryReplayer } from '../../src/queue/replay-deliveries';
import { openRecipientStore } from '../../src/recipients/recipient-store';
import { createAdvisoryArchive, type AdvisoryArchive, type Audience } from '../../src/storage/advisory-archive';
import { startWorkers } from '../../workers/start-workers';
import { documentText, sampleAdvisory, uniqueId } from '../support/advisory-fixture';
import { eventually } from '../support/eventually';
import { useGpgPublisher } from '../support/use-gpg-publisher';
import { deleteRedisPrefix } from '../support/redis-prefix';
import type { Tocsin } from '../support/tocsin-harness';
import { useTocsin } from '../support/use-tocsin';
import { startReceiver, type Receiver } from '../support/webhook-receiver';

/** A 410 partner fails at its first attempt: a dead letter within a second. Breaker off (one request per attempt). */
const ENV = { TOCSIN_WEBHOOK_MAX_ATTEMPTS: '3', TOCSIN_BREAKER_THRESHOLD: '0' };

/** A promise the test opens when it chooses, and a second one saying the code reached it. */
function gate() {
  let open!: () => void;
  let reached!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  const arrived = new Promise<void>((resolve) => (reached = resolve));
  return { open, arrived, pass: async () => { reached(); await opened; } };
}

/** Log lines of one "process", to see it wait for the lock rather than guess with a timer. */
function capturedLog() {
  const lines: string[] = [];
  const log: Logger = createLogger('info', { destination: { write: (line: string) => void lines.push(line) } });
  return { log, said: (text: string) => eventually(async () => lines.some((l) => l.includes(text)), 20_000, `log line "${text}"`) };
}

/**
 * The recovery half of a second API process against the same Redis prefix and data directory:
 * its own Redis connection, archive handle, reconciler and replayer, hence its own in-process lock.
 * `archive` and `render` let a test hold it at one step.
 */
async function apiProcess(tocsin: Tocsin, opts: { log: Logger; archive?: (real: AdvisoryArchive) => AdvisoryArchive; render?: (archived: ArchivedAdvisory) => Promise<void> }) {
  const { config } = tocsin;
  const redis = new Redis(config.redisUrl);
  const archive = (opts.archive ?? ((a) => a))(createAdvisoryArchive(config.dataDir));
  const recipients = await openRecipientStore(config.dataDir, redis, config.prefix);
  const queues = createDeliveryQueues(redis, config.prefix);
  const states = createDeliveryStateStore(redis, config.prefix);
  const keys = createBroadcasterKeys(config.keysDir, config.keyPassphrase);
  const render = async (archived: ArchivedAdvisory, audience: Audience) => {
    await opts.render?.(archived);
    return renderNotices(archived, audience, { broadcaster: await keys.signer(), publicUrl: config.publicUrl, templatesDir: config.templatesDir });
  };
  const maxAttempts = () => 3;
  // The same receipts files as the harness's API process: a second process shares the data dir.
  const receipts = createReceiptLog(config.dataDir);
  const common = { archive, redis, prefix: config.prefix, states, receipts, queues, recipients, maxAttempts, log: opts.log };
  const reconciler = createReconciler({
    ...common,
    enqueue: (archived, audience) => enqueueAdvisory({ redis, queues, prefix: config.prefix, batchSize: config.fanoutBatchSize, render }, archived, audience),
    batchSize: config.fanoutBatchSize,
  });
  const replayer = createDeliveryReplayer({ ...common, render, exclusive: reconciler.exclusive });
  return {
    reconciler,
    replayer,
    async close() {
      await Promise.all(Object.values(queues).map((q) => q.close()));
      await recipients.close();
      await receipts.close();
      redis.disconnect();
    },
  };
}

describe('recovery and replay in two API processes on one Redis prefix', () => {
  const publisher = useGpgPublisher('sec@example.org');
  let gone: Receiver;
  let healthy: Receiver;
  let goneId: string;
  let fixed = false;
  const archive = () => createAdvisoryArchive(tocsin.config.dataDir);
  const loseRedis = () => deleteRedisPrefix(tocsin.config.redisUrl, tocsin.config.prefix);

  // Hooks run in the order they are declared: the partners go before tocsin closes.
  afterAll(async () => {
    await gone?.close();
    await healthy?.close();
  });
  const tocsin = useTocsin(() => ({ publishers: [publisher.armoredPublicKey], env: ENV, workers: false }));
  beforeAll(async () => {
    gone = await startReceiver(() => ({ status: fixed ? 204 : 410 }));
    healthy = await startReceiver();
    goneId = (await tocsin.addWebhook(gone.url())).id;
    await tocsin.addWebhook(healthy.url());
  });

  const deliveryOf = async (id: string, recipient: string) =>
    ((await tocsin.call('GET', `/v1/advisories/${id}/deliveries`)).json.deliveries as { recipient: string; state: string; replays?: number }[]).find((d) => d.recipient === recipient);

  /** An advisory whose 410 partner is a dead letter and whose revision is marked settled; no worker left running. */
  async function settledWithDeadLetter(): Promise<string> {
    fixed = false;
    const workers = await startWorkers(tocsin.config, createLogger('silent'));
    try {
      const id = uniqueId('XP');
      const document = documentText(sampleAdvisory({ id }));
      expect((await tocsin.call('POST', '/v1/advisories', { document, signatures: [await publisher.sign(document)] })).status).toBe(202);
      await eventually(async () => {
        await tocsin.api.reconcile();
        return archive().hasMark({ id, revision: 1 }, SETTLED_MARK);
      }, 20_000, 'settled');
      expect((await deliveryOf(id, goneId))?.state).toBe('failed');
      return id;
    } finally {
      await workers.close();
    }
  }

  /**
   * The replay must run its render step (the one a test can hold it at, after it removed the
   * settled mark and before it writes `retrying`): Redis forgets the stored notice.
   */
  async function dropKey(key: string): Promise<void> {
    const redis = new Redis(tocsin.config.redisUrl);
    await redis.del(key);
    redis.disconnect();
  }
  const forgetNotice = (id: string) => dropKey(redisKeys(tocsin.config.prefix).notice('webhook', { id, revision: 1 }));
  /** What a Redis restart does to the lock alone, or a holder stalled past the lock's ttl. */
  const loseLock = () => dropKey(redisKeys(tocsin.config.prefix).recoveryLock);

  /**
   * What must hold after a replay however it interleaved with passes elsewhere: the revision is
   * not marked settled while its replayed delivery is outstanding, so a Redis data loss now
   * re-queues the revision and the replay is delivered, not forgotten.
   */
  async function replayIsNotForgotten(id: string): Promise<void> {
    const ref = { id, revision: 1 };
    expect(await deliveryOf(id, goneId)).toMatchObject({ state: 'retrying', replays: 1 });
    expect(await archive().readMark(ref, SETTLED_MARK)).toBeNull();
    await loseRedis();
    expect(await tocsin.api.reconcile()).toBe(1);
    fixed = true;
    const workers = await startWorkers(tocsin.config, createLogger('silent'));
    try {
      await eventually(async () => (await deliveryOf(id, goneId))?.state === 'delivered', 20_000, 'delivered after recovery');
      await eventually(async () => {
        await tocsin.api.reconcile();
        return archive().hasMark(ref, SETTLED_MARK);
      }, 20_000, 'settled again');
      // The mark says the receipts hold every outcome, and they hold the replay's.
      const mark = (await archive().readMark(ref, SETTLED_MARK)) as SettledMark;
      expect(mark).toMatchObject({ receipts_complete: true });
      const log = createReceiptLog(tocsin.config.dataDir);
      try {
        expect((await log.statesOf(ref)).get('webhook')?.get(goneId)).toMatchObject({ state: 'delivered', replays: 1 });
      } finally {
        await log.close();
      }
    } finally {
      await workers.close();
    }
  }

  it('goes on past a revision it cannot queue, so that one bad revision holds back none after it', async () => {
    // Accepted first and sorting first: the pass meets it before the other, whichever order it reads.
    const [bad, good] = [uniqueId('AAA-UNRENDERABLE'), uniqueId('ZZZ-AFTER')];
    for (const id of [bad, good]) {
      const document = documentText(sampleAdvisory({ id }));
      expect((await tocsin.call('POST', '/v1/advisories', { document, signatures: [await publisher.sign(document)] })).status).toBe(202);
    }
    await loseRedis();
    const recovering = await apiProcess(tocsin, {
      log: capturedLog().log,
      render: async (archived) => {
        if (archived.record.id === bad) throw new Error('render timed out');
      },
    });
    const redis = new Redis(tocsin.config.redisUrl);
    try {
      await recovering.reconciler.run();
      const enqueued = (id: string) => redis.exists(redisKeys(tocsin.config.prefix).enqueued({ id, revision: 1 }));
      expect({ bad: await enqueued(bad), good: await enqueued(good) }).toEqual({ bad: 0, good: 1 });
    } finally {
      redis.disconnect();
      await recovering.close();
    }
  });

  it("holds one process's pass off while another process's replay runs", async () => {
    const id = await settledWithDeadLetter();
    await forgetNotice(id);
    const held = gate();
    const replaying = await apiProcess(tocsin, { log: createLogger('silent'), render: held.pass });
    const other = capturedLog();
    const reconciling = await apiProcess(tocsin, { log: other.log });
    try {
      const replay = replaying.replayer.replay({ ref: { id, revision: 1 }, recipients: [goneId] });
      await held.arrived;
      // The mark is gone and `retrying` not yet written: a pass now would settle the revision again.
      expect(await archive().hasMark({ id, revision: 1 }, SETTLED_MARK)).toBe(false);
      let passed = false;
      const pass = reconciling.reconciler.run().finally(() => (passed = true));
      await other.said('another tocsin process holds the lock');
      expect(passed).toBe(false);
      held.open();
      expect((await replay).replayed).toEqual([expect.objectContaining({ recipient: goneId, replay: 1 })]);
      expect(await pass).toBe(0);
      await replayIsNotForgotten(id);
    } finally {
      await replaying.close();
      await reconciling.close();
    }
  });

  it('stays safe when the lock vanishes under a replay (Redis lost it, or its holder stalled past the ttl)', async () => {
    const id = await settledWithDeadLetter();
    await forgetNotice(id);
    const held = gate();
    const replaying = await apiProcess(tocsin, { log: createLogger('silent'), render: held.pass });
    const reconciling = await apiProcess(tocsin, { log: createLogger('silent') });
    try {
      const replay = replaying.replayer.replay({ ref: { id, revision: 1 }, recipients: [goneId] });
      await held.arrived;
      await loseLock();
      // The other pass gets in and settles the revision from states the replay has not yet changed.
      expect(await reconciling.reconciler.run()).toBe(0);
      expect(await archive().hasMark({ id, revision: 1 }, SETTLED_MARK)).toBe(true);
      held.open();
      await replay;
      await replayIsNotForgotten(id);
    } finally {
      await replaying.close();
      await reconciling.close();
    }
  });

  it('stays safe when the lock vanishes under a pass that is about to settle a revision a replay then reopens', async () => {
    const id = await settledWithDeadLetter();
    await archive().unmark({ id, revision: 1 }, SETTLED_MARK);
    const held = gate();
    const settling = await apiProcess(tocsin, {
      log: createLogger('silent'),
      archive: (real) => ({ ...real, mark: async (...args) => { await held.pass(); return real.mark(...args); } }),
    });
    const replaying = await apiProcess(tocsin, { log: createLogger('silent') });
    try {
      // The pass has read every state as final and is about to write the mark.
      const pass = settling.reconciler.run();
      await held.arrived;
      await loseLock();
      expect((await replaying.replayer.replay({ ref: { id, revision: 1 }, recipients: [goneId] })).replayed).toHaveLength(1);
      held.open();
      expect(await pass).toBe(0);
      await replayIsNotForgotten(id);
    } finally {
      await settling.close();
      await replaying.close();
    }
  });
});
