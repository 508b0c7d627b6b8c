import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import { createRedisLock } from '../../src/queue/redis-lock';
import { eventually } from '../support/eventually';
import { deleteRedisPrefix } from '../support/redis-prefix';

const REDIS_URL = 'redis://127.0.0.1:6379';

/** Two connections, as two processes have, and a lock key under a prefix of the test's own. */
function twoProcesses() {
  const prefix = `t-lock-${randomBytes(5).toString('hex')}`;
  const key = `${prefix}:recovery-lock`;
  const a = new Redis(REDIS_URL);
  const b = new Redis(REDIS_URL);
  return {
    key,
    a,
    b,
    async close() {
      a.disconnect();
      b.disconnect();
      await deleteRedisPrefix(REDIS_URL, prefix);
    },
  };
}

describe('a Redis lock shared by processes', () => {
  it('lets one holder in at a time across two connections', async () => {
    const p = twoProcesses();
    try {
      const locks = [createRedisLock(p.a, p.key, { maxPollMs: 20 }), createRedisLock(p.b, p.key, { maxPollMs: 20 })];
      let inside = 0;
      let most = 0;
      const entered: number[] = [];
      const work = (lock: (typeof locks)[number], n: number) =>
        lock.run(async () => {
          inside += 1;
          most = Math.max(most, inside);
          entered.push(n);
          // Round trips to Redis while holding: the other connection's tries land in between.
          for (let i = 0; i < 5; i++) await p.a.incr(`${p.key}:work`);
          inside -= 1;
        });
      await Promise.all(Array.from({ length: 20 }, (_, n) => work(locks[n % 2]!, n)));
      expect(most).toBe(1);
      expect(entered.sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, n) => n));
      expect(await p.a.get(`${p.key}:work`)).toBe('100');
      expect(await p.a.exists(p.key)).toBe(0);
    } finally {
      await p.close();
    }
  });

  it('frees itself when its holder dies, and only the owner can release or renew it', async () => {
    const p = twoProcesses();
    try {
      // A holder that dies renews nothing: a lease of 300 ms, never renewed nor released.
      const dead = await createRedisLock(p.a, p.key, { ttlMs: 300 }).tryAcquire();
      expect(dead).not.toBeNull();
      const other = createRedisLock(p.b, p.key, { maxPollMs: 20 });
      expect(await other.tryAcquire()).toBeNull();
      const lease = await other.acquire();
      expect(await p.b.get(p.key)).toBe(lease.token);

      // The first holder, back from the dead, cannot take the lock from its successor.
      expect(await dead!.release()).toBe(false);
      expect(await dead!.renew()).toBe(false);
      expect(await p.b.get(p.key)).toBe(lease.token);
      expect(await lease.release()).toBe(true);
      expect(await p.b.exists(p.key)).toBe(0);
    } finally {
      await p.close();
    }
  });

  it('stays held while its holder runs, renewed long past its ttl, and is free after', async () => {
    const p = twoProcesses();
    try {
      // Long enough that a test process starved of CPU for a moment (two suites share two cores)
      // still renews in time: a renewal late by more than two thirds of the ttl loses the lease, by design.
      const ttlMs = 1_000;
      const other = createRedisLock(p.b, p.key);
      const held = await createRedisLock(p.a, p.key, { ttlMs }).run(async () => {
        const start = Date.now();
        // Keeps trying from the other connection until three ttls have passed.
        return eventually(async () => {
          if (await other.tryAcquire()) throw new Error('the other connection got a lock still held');
          return Date.now() - start > 3 * ttlMs ? Date.now() - start : undefined;
        }, 20_000, 'three ttls held');
      });
      expect(held).toBeGreaterThan(3 * ttlMs);
      expect(await other.tryAcquire()).not.toBeNull();
    } finally {
      await p.close();
    }
  });

  it('is taken back by its holder at the next renewal when Redis loses it, unless another took it first', async () => {
    const p = twoProcesses();
    try {
      const lease = await createRedisLock(p.a, p.key).acquire();
      await p.b.del(p.key);
      expect(await lease.renew()).toBe(true);
      expect(await p.b.get(p.key)).toBe(lease.token);
      expect(await p.b.pttl(p.key)).toBeGreaterThan(0);

      await p.b.del(p.key);
      const successor = await createRedisLock(p.b, p.key).tryAcquire();
      expect(successor).not.toBeNull();
      expect(await lease.renew()).toBe(false);
      expect(await p.b.get(p.key)).toBe(successor!.token);
    } finally {
      await p.close();
    }
  });

  it("takes over at once a lease of a process of this host that is gone, never another host's", async () => {
    const p = twoProcesses();
    const here = `${hostname()}/${readlinkSync('/proc/self/ns/pid')}`;
    try {
      // A process that held the lock and was killed: its pid is free again.
      const { pid } = spawnSync(process.execPath, ['-e', '']);
      await p.a.set(p.key, `${here} ${pid} 0123abcd`, 'PX', 60_000);
      const lease = await createRedisLock(p.b, p.key).tryAcquire();
      expect(lease).not.toBeNull();
      expect(await p.b.get(p.key)).toBe(lease!.token);
      expect(await p.b.pttl(p.key)).toBeLessThanOrEqual(10_000);

      // This process's parent is alive; a holder on another host, or in another pid namespace
      // under the same host name, can only be waited out.
      const elsewhere = [`elsewhere.example/${readlinkSync('/proc/self/ns/pid')} ${pid} 0123abcd`, `${hostname()}/pid:[1] ${pid} 0123abcd`];
      for (const holder of [`${here} ${process.ppid} 0123abcd`, ...elsewhere]) {
        await p.a.set(p.key, holder, 'PX', 60_000);
        expect(await createRedisLock(p.b, p.key).tryAcquire()).toBeNull();
        expect(await p.b.get(p.key)).toBe(holder);
      }
    } finally {
      await p.close();
    }
  });
});
