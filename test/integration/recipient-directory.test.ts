import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { redisKeys } from '../../src/queue/redis-keys';
import { createRecipientDirectory, RecipientsNotLoadedError } from '../../src/recipients/recipient-store';
import { deleteRedisPrefix } from '../support/redis-prefix';

const REDIS_URL = 'redis://127.0.0.1:6379';

/**
 * Workers read recipients from Redis. A recipient missing there counts as removed only once the
 * API has synced the whole directory into this Redis; before that (a Redis that restarted empty)
 * the worker must wait, or it would mark live recipients failed.
 */
describe('the workers’ recipient directory', () => {
  const prefix = `t-${randomBytes(5).toString('hex')}`;
  const keys = redisKeys(prefix);
  const redis = new Redis(REDIS_URL);
  const directory = createRecipientDirectory(redis, prefix);
  const alice = { id: 'rcpt_alice', type: 'webhook', url: 'http://127.0.0.1:9/a', secret: 'whsec_x', created_at: '2026-01-01T00:00:00Z' };

  afterAll(async () => {
    await deleteRedisPrefix(REDIS_URL, prefix);
    redis.disconnect();
  });

  it('refuses to call a recipient removed while the directory is not loaded, and says so once it is', async () => {
    await redis.hset(keys.recipients, alice.id, JSON.stringify(alice));
    // Not synced yet: what is there is returned, but a missing one proves nothing.
    expect([...(await directory.getMany([alice.id])).keys()]).toEqual([alice.id]);
    await expect(directory.getMany([alice.id, 'rcpt_bob'])).rejects.toBeInstanceOf(RecipientsNotLoadedError);

    await redis.set(keys.recipientsSynced, new Date().toISOString());
    expect([...(await directory.getMany([alice.id, 'rcpt_bob'])).keys()]).toEqual([alice.id]);
  });
});
