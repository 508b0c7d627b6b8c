import { Redis } from 'ioredis';

export class RedisUnreachableError extends Error {
  constructor(readonly url: string, options?: { cause?: unknown }) {
    super(
      `cannot reach Redis at ${redactUrl(url)}: start one with "docker compose up -d redis" ` +
        `(or redis-server), or point REDIS_URL at yours`,
      options,
    );
    this.name = 'RedisUnreachableError';
  }
}

function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

/**
 * `worker`: blocking connections for BullMQ workers (commands wait through reconnects).
 * `client`: the API's, whose commands fail fast while Redis is down, so accepting advisories
 * never hangs on it.
 */
export function createRedis(url: string, role: 'worker' | 'client'): Redis {
  return new Redis(url, {
    lazyConnect: true,
    connectTimeout: 3_000,
    maxRetriesPerRequest: role === 'worker' ? null : 1,
    enableOfflineQueue: role === 'worker',
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  });
}

/** Connects and pings, or throws {@link RedisUnreachableError} after `timeoutMs`. */
export async function connectRedis(redis: Redis, url: string, timeoutMs = 5_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      (async () => {
        if (redis.status === 'wait') await redis.connect();
        await redis.ping();
      })(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('timed out')), timeoutMs);
      }),
    ]);
  } catch (err) {
    throw new RedisUnreachableError(url, { cause: err });
  } finally {
    clearTimeout(timer);
  }
}
