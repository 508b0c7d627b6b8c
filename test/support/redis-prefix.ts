import { Redis } from 'ioredis';

const MAX_SCAN_ROUNDS = 100_000;

/** Deletes every key under `<prefix>:`, the run's queues and state; resolves to how many went. */
export async function deleteRedisPrefix(redisUrl: string, prefix: string): Promise<number> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    let deleted = 0;
    for (let round = 0; round < MAX_SCAN_ROUNDS; round++) {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      if (keys.length > 0) deleted += await redis.del(...keys);
      cursor = next;
      if (cursor === '0') return deleted;
    }
    throw new Error(`SCAN of ${prefix}:* did not finish in ${MAX_SCAN_ROUNDS} rounds`);
  } finally {
    redis.disconnect();
  }
}
