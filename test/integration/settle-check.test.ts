import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import type { AdvisoryRecord } from '../../src/advisory/record';
import { createDeliveryStateStore, type DeliveryStateStore } from '../../src/delivery/delivery-state';
import { receiptOf, type DeliveryReceipts } from '../../src/delivery/receipts';
import { loadRevisionView } from '../../src/delivery/dead-letters';
import { createLogger } from '../../src/log';
import { createDeliveryQueues } from '../../src/queue/delivery-queues';
import { jobIds } from '../../src/queue/jobs';
import { createReconciler, SETTLED_MARK } from '../../src/queue/reconciler';
import { redisKeys } from '../../src/queue/redis-keys';
import { openRecipientStore } from '../../src/recipients/recipient-store';
import { createAdvisoryArchive } from '../../src/storage/advisory-archive';
import { createReceiptLog } from '../../src/storage/receipt-log';
import { deleteRedisPrefix } from '../support/redis-prefix';

const REDIS_URL = 'redis://127.0.0.1:6379';
const RECIPIENTS = 1_000;
const COMMITS = 20;
const BATCH_SIZE = 100;

/**
 * The reconciler marks a revision settled as soon as the receipt of its last open recipient is
 * on disk, without reading every state of the revision at each commit of a large fan-out: that
 * read is of the whole audience, and a commit comes every 2,000 receipts or fewer.
 */
describe('settling a revision as its receipts are committed', () => {
  let dataDir: string;
  let redis: Redis;
  const prefix = `settle-${process.pid}-${Date.now()}`;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'settle-'));
    redis = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    await deleteRedisPrefix(REDIS_URL, prefix);
    redis.disconnect();
    await rm(dataDir, { recursive: true, force: true });
  });

  /** A revision of `RECIPIENTS` webhook recipients, and a reconciler over it whose full state reads are counted. */
  async function setUp(id: string, wrapStates: (real: DeliveryStateStore) => DeliveryStateStore = (real) => real) {
    const ref = { id, revision: 1 };
    const archive = createAdvisoryArchive(dataDir);
    const record: AdvisoryRecord = {
      ...ref,
      kind: 'advisory',
      title: 'settle',
      severity: 'high',
      sha256: '0'.repeat(64),
      accepted_at: new Date().toISOString(),
      publishers: ['F'.repeat(40)],
      broadcaster_fingerprint: 'B'.repeat(40),
    };
    const ids = Array.from({ length: RECIPIENTS }, (_, i) => `rcp_${String(i).padStart(5, '0')}`);
    await archive.store({ record, document: '{}', publisherSignatures: [], broadcasterSignature: '' }, { webhook: ids });
    const log = createReceiptLog(dataDir);
    const counts = { fullReads: 0, enqueued: 0 };
    /** The advisories queued again, this revision's or others' in the shared data directory. */
    const enqueuedIds: string[] = [];
    // The real receipt log, counting the reads of a revision's every state or outcome.
    const receipts: DeliveryReceipts = { ...log, statesOf: (r) => ((counts.fullReads += 1), log.statesOf(r)), foldInto: (r, sinkOf) => ((counts.fullReads += 1), log.foldInto(r, sinkOf)) };
    const recipients = await openRecipientStore(dataDir, redis, prefix);
    const queues = createDeliveryQueues(redis, prefix);
    const reconciler = createReconciler({
      archive,
      redis,
      prefix,
      states: wrapStates(createDeliveryStateStore(redis, prefix)),
      receipts,
      recipients,
      enqueue: async (archived) => {
        counts.enqueued += 1;
        enqueuedIds.push(archived.record.id);
      },
      queues,
      batchSize: BATCH_SIZE,
      maxAttempts: () => 3,
      log: createLogger('silent'),
    });
    return {
      ref,
      ids,
      archive,
      log,
      queues,
      reconciler,
      counts,
      enqueuedIds,
      async close() {
        await Promise.all(Object.values(queues).map((q) => q.close()));
        await recipients.close();
        await log.close();
      },
    };
  }

  it('reads every state a bounded number of times over a fan-out, and settles at its last receipt', async () => {
    const { ref, ids, archive, log, reconciler, counts, close } = await setUp('SETTLE-1');
    try {
      const perCommit = RECIPIENTS / COMMITS;
      for (let c = 0; c < COMMITS; c++) {
        const committed = ids.slice(c * perCommit, (c + 1) * perCommit).map((id) => receiptOf('webhook', ref, id, { state: 'delivered', attempts: 1, updated_at: new Date().toISOString() }));
        await log.append(committed);
        reconciler.receiptsCommitted(committed);
        await reconciler.idle();
        // Not before the last recipient's receipt.
        expect(await archive.hasMark(ref, SETTLED_MARK)).toBe(c === COMMITS - 1);
      }
      // The first commit's check, the last one's, and the settling's own two reads; not one per commit.
      expect(counts.fullReads).toBeLessThanOrEqual(4);
    } finally {
      await close();
    }
  });

  it('leaves a fan-out whose batches still run to them, and recovers it once none is left', async () => {
    const { ref, queues, reconciler, counts, close } = await setUp('SETTLE-2');
    try {
      // Queued as the release step queues it, with no worker to take the last batch.
      await redis.set(redisKeys(prefix).enqueued(ref), new Date().toISOString());
      const last = jobIds.batch(ref, RECIPIENTS / BATCH_SIZE - 1);
      await queues.webhook.add('batch', { ref, recipients: [] }, { jobId: last });
      expect(await reconciler.run()).toBe(0);
      expect(counts).toEqual({ fullReads: 0, enqueued: 0 });
      // Its batches gone with recipients still pending: the pass reads the states and queues it again.
      await queues.webhook.remove(last);
      expect(await reconciler.run()).toBe(1);
      expect(counts.fullReads).toBeGreaterThan(0);
      expect(counts.enqueued).toBe(1);
    } finally {
      await close();
    }
  });

  it('settles only once the receipts hold every outcome: what only Redis knows is written to them first, and the mark keeps no states', async () => {
    const { ref, ids, archive, log, reconciler, close } = await setUp('SETTLE-3');
    const states = createDeliveryStateStore(redis, prefix);
    try {
      const delivered = () => ({ state: 'delivered' as const, attempts: 1, updated_at: new Date().toISOString() });
      const [onDisk, redisOnly] = [ids.slice(0, -10), ids.slice(-10)];
      const committed = onDisk.map((id) => receiptOf('webhook', ref, id, delivered()));
      await log.append(committed);
      // The last ten outcomes are in Redis only: their receipts never reached the disk.
      await states.write('webhook', ref, new Map(redisOnly.map((id) => [id, delivered()])));
      reconciler.receiptsCommitted(committed);
      await reconciler.idle();
      expect(await archive.hasMark(ref, SETTLED_MARK)).toBe(false);

      // The pass puts them on disk, then settles: the mark counts, the receipts hold every state.
      await reconciler.run();
      expect(await archive.readMark(ref, SETTLED_MARK)).toEqual({ at: expect.any(String), receipts_complete: true, counts: { delivered: RECIPIENTS, failed: 0 } });
      const fresh = createReceiptLog(dataDir);
      try {
        const kept = (await fresh.statesOf(ref)).get('webhook')!;
        expect(ids.filter((id) => kept.get(id)?.state !== 'delivered')).toEqual([]);
      } finally {
        await fresh.close();
      }

      // Redis loses the revision: what anyone reads of it comes from the receipts, unchanged.
      await redis.del(redisKeys(prefix).deliveries('webhook', ref));
      const view = await loadRevisionView({ archive, states, receipts: log }, ref);
      expect(ids.filter((id) => view.states.get('webhook')?.get(id)?.state !== 'delivered')).toEqual([]);
    } finally {
      await close();
    }
  });

  it("does not take a batch that finished after its states were read for a dead one: it reads them again first", async () => {
    let finished = false;
    // The revision's batch ends between the pass's read of its states and its look at the batch
    // jobs: its worker writes every state, then the job completes. Here the states are written
    // when the pass reads again what looked pending (its first getMany), as that worker would have.
    const { ref, ids, queues, reconciler, enqueuedIds, close } = await setUp('SETTLE-4', (real) => ({
      ...real,
      async getMany(channel, r, wanted) {
        // Only this revision's: the pass also looks at the other tests' revisions in the shared data directory.
        if (!finished && r.id === 'SETTLE-4') {
          finished = true;
          await real.advance(channel, r, new Map(ids.map((id) => [id, { state: 'delivered' as const, attempts: 1, updated_at: new Date().toISOString() }])));
        }
        return real.getMany(channel, r, wanted);
      },
    }));
    try {
      // Queued, and its batch jobs gone from the queue as completed jobs are (removeOnComplete).
      await redis.set(redisKeys(prefix).enqueued(ref), new Date().toISOString());
      await reconciler.run();
      expect(finished).toBe(true);
      // Not queued again: nothing would have stopped its batches from sending to everyone twice.
      expect(enqueuedIds).not.toContain(ref.id);
      expect((await queues.webhook.getJobs(['waiting', 'delayed', 'active'])).filter((j) => (j.data as { ref?: { id: string } }).ref?.id === ref.id)).toEqual([]);
    } finally {
      await close();
    }
  });
});
