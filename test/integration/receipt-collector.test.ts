import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { RECEIPTS_GROUP, startReceiptCollector, type ReceiptCollector } from '../../src/delivery/receipt-collector';
import type { DeliveryReceipt } from '../../src/delivery/receipts';
import { createLogger } from '../../src/log';
import { redisKeys } from '../../src/queue/redis-keys';
import { createReceiptLog } from '../../src/storage/receipt-log';
import { eventually } from '../support/eventually';
import { deleteRedisPrefix } from '../support/redis-prefix';

const REDIS_URL = 'redis://127.0.0.1:6379';
const receipt = (recipient: string): DeliveryReceipt => ({
  advisory: 'ADV-TRIM',
  revision: 1,
  channel: 'webhook',
  recipient,
  state: 'delivered',
  attempts: 1,
  updated_at: new Date().toISOString(),
});

/**
 * The receipts stream holds only what is not yet on disk: the collector trims what it committed,
 * and whatever a lost connection left behind, but never an entry some reader has not yet
 * acknowledged or not yet read.
 */
describe('the receipts stream is trimmed to what is not yet committed', () => {
  const prefix = `t-${randomBytes(5).toString('hex')}`;
  const key = redisKeys(prefix).receipts;
  const redis = new Redis(REDIS_URL);
  const collectorRedis = new Redis(REDIS_URL);
  let dataDir: string;
  let collector: ReceiptCollector | undefined;
  let commits = 0;
  const add = (r: DeliveryReceipt) => redis.xadd(key, '*', 'r', JSON.stringify(r)) as Promise<string>;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'tocsin-collector-'));
  });
  afterAll(async () => {
    await collector?.close();
    await deleteRedisPrefix(REDIS_URL, prefix);
    redis.disconnect();
    collectorRedis.disconnect();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('takes away what was committed and what was acknowledged but left, and keeps what another reader holds unacknowledged', async () => {
    await redis.xgroup('CREATE', key, RECEIPTS_GROUP, '0', 'MKSTREAM');
    // Acknowledged but never deleted (a connection lost between the two): nothing will read it again.
    const left = await add(receipt('left-behind'));
    await redis.xreadgroup('GROUP', RECEIPTS_GROUP, 'old-process', 'COUNT', 1, 'STREAMS', key, '>');
    await redis.xack(key, RECEIPTS_GROUP, left);
    // Read by another process that has not acknowledged it: it may still be on its way to disk.
    const held = await add(receipt('held'));
    await redis.xreadgroup('GROUP', RECEIPTS_GROUP, 'other-process', 'COUNT', 1, 'STREAMS', key, '>');
    for (let i = 0; i < 5; i++) await add(receipt(`new-${i}`));
    expect(await redis.xlen(key)).toBe(7);

    collector = startReceiptCollector({ redis: collectorRedis, prefix, receipts: createReceiptLog(dataDir), committed: () => (commits += 1), log: createLogger('silent'), blockMs: 50 });
    await eventually(async () => commits > 0 && (await redis.xlen(key)) === 1, 5_000, 'the committed entries trimmed');
    expect((await redis.xrange(key, '-', '+')).map(([id]) => id)).toEqual([held]);

    // Once it is acknowledged, the next commit takes it too.
    await redis.xack(key, RECEIPTS_GROUP, held);
    const before = commits;
    await add(receipt('later'));
    await eventually(async () => commits > before && (await redis.xlen(key)) === 0, 5_000, 'the stream empty');
  });
});
