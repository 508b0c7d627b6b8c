import { Redis } from 'ioredis';
import { StartupError } from './startup-error';

export class RedisUnreachableError extends StartupError {
  constructor(readonly url: string, options?: { cause?: unknown }) {
    super(
      `cannot reach Redis at ${redactUrl(url)}: start one with "docker compose up -d redis" ` +
        `(or redis-server), or point REDIS_URL at yours`,
      options,
    );
    this.name = 'RedisUnreachableError';
  }
}

/** Redis answered, but refused the credentials in REDIS_URL (or their absence). */
export class RedisAuthError extends StartupError {
  constructor(readonly url: string, reply: string, options?: { cause?: unknown }) {
    super(
      `Redis at ${redactUrl(url)} refused authentication (${reply.split(' ')[0]}): put its password in REDIS_URL, ` +
        `as redis://:PASSWORD@HOST:PORT (or redis://USER:PASSWORD@HOST:PORT for an ACL user)`,
      options,
    );
    this.name = 'RedisAuthError';
  }
}

export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

/** Redis's replies to a missing or wrong password (HELLO or AUTH), from Redis 6 on and before. */
const AUTH_REFUSED = /^(NOAUTH|WRONGPASS)\b|^ERR (invalid password|AUTH <password> called without any password configured)/;

/** The longest the API waits for Redis to answer one command. */
export const CLIENT_COMMAND_TIMEOUT_MS = 5_000;

/**
 * `worker`: blocking connections for BullMQ workers (commands wait through reconnects).
 * `client`: the API's, whose commands fail fast while Redis is down, so accepting advisories
 * never hangs on it.
 */
export function createRedis(url: string, role: 'worker' | 'client'): Redis {
  return new Redis(url, {
    lazyConnect: true,
    connectTimeout: 3_000,
    // A Redis that accepts a command and never answers must not hold the API (a state read, a
    // lock, the receipts collector's 250 ms block) for ever. Workers' connections carry BullMQ's
    // blocking commands, which wait on purpose: they keep no such deadline.
    ...(role === 'client' ? { commandTimeout: CLIENT_COMMAND_TIMEOUT_MS } : {}),
    maxRetriesPerRequest: role === 'worker' ? null : 1,
    enableOfflineQueue: role === 'worker',
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  });
}

/**
 * Connects and pings, or throws {@link RedisAuthError} as soon as Redis refuses the credentials,
 * or {@link RedisUnreachableError} after `timeoutMs`.
 */
export async function connectRedis(redis: Redis, url: string, timeoutMs = 5_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  let refused: (err: Error) => void = () => undefined;
  let authReply: Error | undefined;
  // A refused HELLO or AUTH reaches only the 'error' event; the connect itself just closes.
  const onError = (err: Error) => {
    if (!AUTH_REFUSED.test(err.message)) return;
    authReply = err;
    refused(err);
  };
  redis.on('error', onError);
  try {
    await Promise.race([
      (async () => {
        if (redis.status === 'wait') await redis.connect();
        await redis.ping();
      })(),
      new Promise((_, reject) => {
        refused = reject;
        timer = setTimeout(() => reject(new Error('timed out')), timeoutMs);
      }),
    ]);
  } catch (err) {
    const auth = authReply ?? (AUTH_REFUSED.test((err as Error).message ?? '') ? (err as Error) : undefined);
    if (auth) throw new RedisAuthError(url, auth.message, { cause: auth });
    throw new RedisUnreachableError(url, { cause: err });
  } finally {
    clearTimeout(timer);
    redis.off('error', onError);
  }
}
