import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import type { AdvisoryRecord } from '../../src/advisory/record';
import { createDeliveryStateStore } from '../../src/delivery/delivery-state';
import { receiptOf, type DeliveryReceipts } from '../../src/delivery/receipts';
import { createLogger } from '../../src/log';
import { createDeliveryQueues } from '../../src/queue/delivery-queues';
import { createReconciler, SETTLED_MARK } from '../../src/queue/reconciler';
import { openRecipientStore } from '../../src/recipients/recipient-store';
import { createAdvisoryArchive } from '../../src/storage/advisory-archive';
import { createReceiptLog } from '../../src/storage/receipt-log';
import { deleteRedisPrefix } from '../support/redis-prefix';

const REDIS_URL = 'redis://127.0.0.1:6379';
const RECIPIENTS = 1_000;
const COMMITS = 20;

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

  it('reads every state a bounded number of times over a fan-out, and settles at its last receipt', async () => {
    const ref = { id: 'SETTLE-1', revision: 1 };
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
    let fullReads = 0;
    // The real receipt log, counting the reads of a revision's every state.
    const receipts: DeliveryReceipts = { ...log, statesOf: (r) => ((fullReads += 1), log.statesOf(r)) };
    const recipients = await openRecipientStore(dataDir, redis, prefix);
    const queues = createDeliveryQueues(redis, prefix);
    const reconciler = createReconciler({
      archive,
      redis,
      prefix,
      states: createDeliveryStateStore(redis, prefix),
      receipts,
      recipients,
      enqueue: async () => undefined,
      queues,
      batchSize: 500,
      maxAttempts: () => 3,
      log: createLogger('silent'),
    });
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
      expect(fullReads).toBeLessThanOrEqual(4);
    } finally {
      await Promise.all(Object.values(queues).map((q) => q.close()));
      await recipients.close();
      await log.close();
    }
  });
});
