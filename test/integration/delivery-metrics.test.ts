import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { DeliveryOutcome } from '../../src/delivery/delivery-outcome';
import { createDeliveryMetricsRecorder } from '../../src/metrics/delivery-metrics';
import { redisKeys } from '../../src/queue/redis-keys';
import { deleteRedisPrefix } from '../support/redis-prefix';

const REDIS_URL = 'redis://127.0.0.1:6379';
const ref = { id: 'ACME-2026-0042', revision: 3 };
const delivered = (at: number, recipient = 'rcpt_a'): DeliveryOutcome => ({ channel: 'webhook', ref, recipient, attempt: 1, at, outcome: 'delivered', detail: 'HTTP 204' });

/**
 * Several worker processes record into one Redis: counts add up, and the first and last delivery
 * times are the earliest and latest over all of them, whatever order their flushes land in.
 */
describe('delivery metrics shared by worker processes', () => {
  const prefix = `t-${randomBytes(5).toString('hex')}`;
  const redis = new Redis(REDIS_URL);
  afterAll(async () => {
    await deleteRedisPrefix(REDIS_URL, prefix);
    redis.disconnect();
  });

  it('adds counts and keeps the earliest first and the latest last delivery across recorders and flushes', async () => {
    const keys = redisKeys(prefix);
    const a = createDeliveryMetricsRecorder(redis, prefix, 60_000);
    const b = createDeliveryMetricsRecorder(redis, prefix, 60_000);

    a.record(delivered(2_000));
    a.record(delivered(2_500));
    a.record({ channel: 'webhook', ref, recipient: 'rcpt_b', attempt: 1, at: 2_100, outcome: 'retry_scheduled', error: 'HTTP 500', retryInMs: 100 });
    await a.flush();
    // A later flush from another process carries both an earlier and a later delivery.
    b.record(delivered(5_000));
    b.record(delivered(1_000));
    b.record({ channel: 'webhook', ref, recipient: 'rcpt_c', attempt: 1, at: 1_200, outcome: 'failed', error: 'HTTP 410 Gone', reason: 'permanent' });
    await b.flush();
    // And a last flush that is neither.
    a.record(delivered(3_000));
    await a.close();
    await b.close();

    expect(await redis.hgetall(keys.metricsDeliveries)).toEqual({
      'webhook:delivered': '5',
      'webhook:retry': '1',
      'webhook:failed': '1',
      'webhook:failed:permanent': '1',
    });
    expect(await redis.zscore(keys.metricsFirstDelivery('webhook'), 'ACME-2026-0042:3')).toBe('1000');
    expect(await redis.zscore(keys.metricsLastDelivery('webhook'), 'ACME-2026-0042:3')).toBe('5000');
    expect(await redis.exists(keys.metricsFirstDelivery('email'))).toBe(0);
  });
});
