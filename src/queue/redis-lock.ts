import { randomBytes } from 'node:crypto';
import { readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

/**
 * Extends the lease while this owner holds it. A key that is gone (Redis restarted empty, or the
 * lease ran out while nobody else wanted it) is taken back at once, so the window in which
 * another process could take it is as short as the renewal period, not the whole critical section.
 */
const RENEW = `
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if not cur then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`;

/** Deletes the key only for its owner: a lease that ran out must not free its successor's lock. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/** Hands a dead holder's lease to a new owner, if it is still that holder's. */
const TAKE_OVER = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0`;

/**
 * Where a pid means something: the host name and, on Linux, the pid namespace, so that two
 * containers sharing a host name (host networking) never judge each other's pids.
 */
const HOST = `${hostname()}/${pidNamespace()}`;

function pidNamespace(): string {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return 'unknown';
  }
}
/** Every lease this process holds now, of any lock: the others with its pid are a former process's. */
const heldHere = new Set<string>();

/**
 * True when the lease names a process of this host that is gone: a process restarted after a
 * crash need not wait out its predecessor's lease. A holder on another host is never judged.
 */
function holderIsGone(value: string): boolean {
  const [host, pidText] = value.split(' ');
  const pid = Number(pidText);
  if (host !== HOST || !Number.isInteger(pid) || pid <= 0) return false;
  // Our own pid but not our lease: a process before us that had the same pid.
  if (pid === process.pid) return !heldHere.has(value);
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

export interface RedisLockOptions {
  /**
   * How long a lease lasts unless renewed: a holder that dies frees the lock after this, and a
   * holder stalled this long loses it. Default 10 s.
   */
  ttlMs?: number;
  /** The longest wait between two tries of a waiting caller (it starts at 25 ms and doubles). Default 1 s. */
  maxPollMs?: number;
  /** Where waiting for another process, and losing a lease, are said. */
  log?: Logger;
}

/** One holding of the lock. */
export interface Lease {
  readonly token: string;
  /** Extends the lease by the lock's ttl; false when another owner holds the lock now. */
  renew(): Promise<boolean>;
  /** Deletes the lock if this lease still owns it; true when it did. */
  release(): Promise<boolean>;
}

/**
 * A lock shared by every process that uses one Redis key: `SET key token NX PX ttl`, renewed
 * while held, released by compare-and-delete. A holder that dies frees it when its lease runs
 * out, or at once for a process of the same host. It is a lease, not a proof of exclusion: a holder
 * stalled for longer than the ttl, or a Redis that loses its data, lets a second holder in. What
 * it guards must stay safe then, only less efficient (see the reconciler and the replayer).
 */
export function createRedisLock(redis: Redis, key: string, options: RedisLockOptions = {}) {
  const ttlMs = options.ttlMs ?? 10_000;
  const maxPollMs = options.maxPollMs ?? 1_000;

  /**
   * One try; null when another live owner holds the lock. The value names the holder (host,
   * pid, a random part), so that a process of the same host can tell a dead holder's lease.
   */
  async function tryAcquire(): Promise<Lease | null> {
    const token = `${HOST} ${process.pid} ${randomBytes(12).toString('hex')}`;
    if ((await redis.set(key, token, 'PX', ttlMs, 'NX')) !== 'OK') {
      const holder = await redis.get(key);
      if (holder === null || !holderIsGone(holder)) return null;
      if ((await redis.eval(TAKE_OVER, 1, key, holder, token, ttlMs)) !== 1) return null;
      options.log?.info({ lock: key }, 'took over the lock from a process of this host that is gone');
    }
    heldHere.add(token);
    return {
      token,
      renew: async () => (await redis.eval(RENEW, 1, key, token, ttlMs)) === 1,
      release: async () => {
        heldHere.delete(token);
        return (await redis.eval(RELEASE, 1, key, token)) === 1;
      },
    };
  }

  /** Waits until the lock is free, however long; rejects when Redis does not answer. */
  async function acquire(): Promise<Lease> {
    let delay = 25;
    for (let told = false; ; told = true) {
      const lease = await tryAcquire();
      if (lease) return lease;
      if (!told) options.log?.info({ lock: key }, 'another tocsin process holds the lock: waiting for it');
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, maxPollMs);
    }
  }

  /** Runs `fn` holding the lock, renewing it every third of the ttl, and releases it after. */
  async function run<T>(fn: () => Promise<T>): Promise<T> {
    const lease = await acquire();
    const renewal = setInterval(() => {
      lease
        .renew()
        .then((held) => {
          if (!held) options.log?.warn({ lock: key }, 'lost the lock to another process (this holder stalled longer than its ttl)');
        })
        .catch((err: unknown) => options.log?.warn({ lock: key, err: (err as Error).message }, 'could not renew the lock'));
    }, ttlMs / 3);
    renewal.unref();
    try {
      return await fn();
    } finally {
      clearInterval(renewal);
      // Redis down: the lease runs out by itself.
      await lease.release().catch(() => false);
    }
  }

  return { tryAcquire, acquire, run };
}
export type RedisLock = ReturnType<typeof createRedisLock>;
