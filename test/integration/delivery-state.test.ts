import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { createDeliveryStateStore } from '../../src/delivery/delivery-state';
import type { DeliveryState } from '../../src/delivery/delivery-status';
import { redisKeys } from '../../src/queue/redis-keys';
import { deleteRedisPrefix } from '../support/redis-prefix';

const REDIS_URL = 'redis://127.0.0.1:6379';
const ref = { id: 'ADV-1', revision: 1 };
const at = '2026-11-24T12:00:00.000Z';
const state = (s: DeliveryState['state'], attempts = 1): DeliveryState => ({ state: s, attempts, updated_at: at });

/**
 * A worker that lost its job (lock lapsed, Redis restarted under it) may still finish and write
 * what it saw long ago: the processors' writes never move a recipient back.
 */
describe('delivery states only move forward', () => {
  const prefix = `t-${randomBytes(5).toString('hex')}`;
  const redis = new Redis(REDIS_URL);
  const states = createDeliveryStateStore(redis, prefix);
  afterAll(async () => {
    await deleteRedisPrefix(REDIS_URL, prefix);
    redis.disconnect();
  });

  it('keeps delivered over anything, failed over retrying, and lets retrying and pending move on', async () => {
    await states.write('webhook', ref, new Map([['a', state('delivered')], ['b', state('failed')], ['c', state('retrying')], ['d', state('failed')]]));
    await states.advance(
      'webhook',
      ref,
      new Map([['a', state('retrying')], ['b', state('retrying')], ['c', state('delivered', 2)], ['d', state('delivered', 2)], ['e', state('retrying')]]),
    );
    const got = await states.getMany('webhook', ref, ['a', 'b', 'c', 'd', 'e']);
    expect(got.map((s) => [s?.state, s?.attempts])).toEqual([
      ['delivered', 1],
      ['failed', 1],
      ['delivered', 2],
      ['delivered', 2],
      ['retrying', 1],
    ]);
    // A plain write (an operator's reset) still overrides.
    await states.write('webhook', ref, new Map([['a', state('pending', 0)]]));
    expect((await states.getMany('webhook', ref, ['a']))[0]?.state).toBe('pending');
  });

  it("adds each written state's receipt to the stream, and none in the benchmark's receipts-off run", async () => {
    const key = redisKeys(prefix).receipts;
    const other = { id: 'ADV-2', revision: 1 };
    const before = await redis.xlen(key);
    await states.advance('webhook', other, new Map([['a', state('delivered')]]));
    expect(await redis.xlen(key)).toBe(before + 1);
    await createDeliveryStateStore(redis, prefix, { receipts: false }).advance('webhook', other, new Map([['b', state('delivered')]]));
    expect((await states.getMany('webhook', other, ['b']))[0]?.state).toBe('delivered');
    expect(await redis.xlen(key)).toBe(before + 1);
  });
});
