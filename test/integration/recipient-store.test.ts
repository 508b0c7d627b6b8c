import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { redisKeys } from '../../src/queue/redis-keys';
import type { Recipient } from '../../src/recipients/recipient';
import { openRecipientStore, type RecipientStore } from '../../src/recipients/recipient-store';
import { deleteRedisPrefix } from '../support/redis-prefix';

const REDIS_URL = 'redis://127.0.0.1:6379';

/** Every recipient the store's loop yields, in its order. */
async function listOf(store: RecipientStore): Promise<Recipient[]> {
  const out: Recipient[] = [];
  for await (const r of store.all()) out.push(r);
  return out;
}

const webhook = (n: number): Recipient => ({
  id: `rcpt_${String(n).padStart(20, '0')}`,
  type: 'webhook',
  url: `http://127.0.0.1:9/${n}`,
  secret: `whsec_${Buffer.alloc(32, n).toString('base64')}`,
  created_at: '2026-01-01T00:00:00.000Z',
});

/**
 * recipients.jsonl is the truth and Redis the workers' copy: a routing change (`update`) is
 * durable before it is answered, replays as it was applied, and Redis is made to match it.
 */
describe('the recipient store: routing changes', () => {
  let dir: string;
  let redis: Redis;
  let prefix: string;
  let store: RecipientStore;
  const reopen = async () => {
    await store.close();
    store = await openRecipientStore(dir, redis, prefix);
    return store;
  };
  const hash = async () => Object.fromEntries(Object.entries(await redis.hgetall(redisKeys(prefix).recipients)).map(([id, v]) => [id, JSON.parse(v) as Recipient]));

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tocsin-recipient-store-'));
    redis = new Redis(REDIS_URL);
    prefix = `t-${randomBytes(5).toString('hex')}`;
    store = await openRecipientStore(dir, redis, prefix);
  });
  afterEach(async () => {
    await store.close();
    await deleteRedisPrefix(REDIS_URL, prefix);
    redis.disconnect();
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a log written before updates existed', async () => {
    const lines = [
      { op: 'add', at: '2026-01-01T00:00:00.000Z', recipient: webhook(1) },
      { op: 'add', at: '2026-01-01T00:00:01.000Z', recipient: webhook(2) },
      { op: 'remove', at: '2026-01-01T00:00:02.000Z', id: webhook(1).id },
    ];
    await writeFile(path.join(dir, 'recipients.jsonl'), lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
    await reopen();
    expect(await listOf(store)).toEqual([webhook(2)]);
    expect(await store.update(webhook(1).id, { tlp: 'GREEN' })).toBeUndefined();
    expect(await store.update(webhook(2).id, { tlp: 'GREEN' })).toEqual({ ...webhook(2), tlp: 'GREEN' });
  });

  it('logs each change before answering, replays it, and mirrors it into Redis', async () => {
    await store.add(webhook(1));
    await store.update(webhook(1).id, { groups: ['distros'], filter: { min_severity: 'high' } });
    await store.update(webhook(1).id, { tlp: 'AMBER', filter: null });
    const expected = { ...webhook(1), groups: ['distros'], tlp: 'AMBER' };
    expect(await store.get(webhook(1).id)).toEqual(expected);
    expect((await hash())[webhook(1).id]).toEqual(expected);
    // The log holds each change and the recipient as it left it: that line is where it is read from.
    const log = (await readFile(path.join(dir, 'recipients.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(log.map((l) => l.op)).toEqual(['add', 'update', 'update']);
    expect(log[2]).toEqual({ op: 'update', at: expect.any(String), id: webhook(1).id, changes: { tlp: 'AMBER', filter: null }, recipient: expected });
    expect(await (await reopen()).get(webhook(1).id)).toEqual(expected);
  });

  it('counts both of two changes in flight together, live as after a restart', async () => {
    await store.add(webhook(1));
    const [a, b] = await Promise.all([store.update(webhook(1).id, { groups: ['cert'] }), store.update(webhook(1).id, { tlp: 'GREEN' })]);
    expect(a).toEqual({ ...webhook(1), groups: ['cert'] });
    expect(b).toEqual({ ...webhook(1), groups: ['cert'], tlp: 'GREEN' });
    const live = await store.get(webhook(1).id);
    expect(live).toEqual(b);
    expect((await hash())[webhook(1).id]).toEqual(live);
    expect(await (await reopen()).get(webhook(1).id)).toEqual(live);
  });

  it('never brings back a recipient removed while its change was being written', async () => {
    await store.add(webhook(1));
    const [changed, removed] = await Promise.all([store.update(webhook(1).id, { tlp: 'GREEN' }), store.remove(webhook(1).id)]);
    expect(removed).toBe(true);
    // Whichever the log holds first, the recipient ends removed everywhere.
    expect(changed === undefined || changed.tlp === 'GREEN').toBe(true);
    expect(await store.get(webhook(1).id)).toBeUndefined();
    expect(await hash()).toEqual({});
    expect(await listOf(await reopen())).toEqual([]);
    // And the other order: removed first, the change answers "no such recipient".
    await store.add(webhook(2));
    const [removedFirst, changedAfter] = await Promise.all([store.remove(webhook(2).id), store.update(webhook(2).id, { tlp: 'GREEN' })]);
    expect({ removedFirst, changedAfter }).toEqual({ removedFirst: true, changedAfter: undefined });
    expect(await hash()).toEqual({});
  });

  it('makes Redis hold exactly the changed directory after it lost its data', async () => {
    await store.add(webhook(1));
    await store.add(webhook(2));
    await store.update(webhook(2).id, { groups: ['distros'], tlp: 'AMBER+STRICT' });
    await redis.del(redisKeys(prefix).recipients);
    // A stale entry an earlier process left: sync must drop it.
    await redis.hset(redisKeys(prefix).recipients, webhook(3).id, JSON.stringify(webhook(3)));
    await store.syncToRedis(redis);
    expect(await hash()).toEqual({ [webhook(1).id]: webhook(1), [webhook(2).id]: { ...webhook(2), groups: ['distros'], tlp: 'AMBER+STRICT' } });
  });

  // The maintenance pass syncs only when this says so (or Redis lost the synced mark).
  it('says Redis is behind until the first sync, and again after a change it missed', async () => {
    expect(store.mirrorBehind()).toBe(true);
    await store.syncToRedis(redis);
    expect(store.mirrorBehind()).toBe(false);
    await store.add(webhook(1));
    expect(store.mirrorBehind()).toBe(false);
    // The same directory with Redis away: a closed port, and no queue to wait in.
    const away = new Redis({ port: 1, host: '127.0.0.1', lazyConnect: true, enableOfflineQueue: false, retryStrategy: () => null });
    await store.close();
    store = await openRecipientStore(dir, away, prefix);
    try {
      await store.syncToRedis(redis);
      await store.add(webhook(2));
      expect(store.mirrorBehind()).toBe(true);
      expect(Object.keys(await hash())).toEqual([webhook(1).id]);
      await store.syncToRedis(redis);
      expect(store.mirrorBehind()).toBe(false);
      expect(Object.keys(await hash()).sort()).toEqual([webhook(1).id, webhook(2).id]);
    } finally {
      away.disconnect();
    }
  });
});

/** An import is one write of the log, then Redis; a recipient removed while it ran stays removed. */
describe('the recipient store: imports', () => {
  let dir: string;
  let redis: Redis;
  let prefix: string;
  let store: RecipientStore;
  const hash = async () => Object.fromEntries(Object.entries(await redis.hgetall(redisKeys(prefix).recipients)).map(([id, v]) => [id, JSON.parse(v) as Recipient]));

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tocsin-recipient-import-'));
    redis = new Redis(REDIS_URL);
    prefix = `t-${randomBytes(5).toString('hex')}`;
    store = await openRecipientStore(dir, redis, prefix);
  });
  afterEach(async () => {
    await store.close();
    await deleteRedisPrefix(REDIS_URL, prefix);
    redis.disconnect();
    await rm(dir, { recursive: true, force: true });
  });

  it('adds and replaces in one write, in Redis and after a restart, and never brings back a recipient removed meanwhile', async () => {
    const [kept, gone] = [webhook(1), webhook(2)];
    await store.add(kept);
    await store.add(gone);
    // The import was checked while `gone` existed; its removal is written first.
    await store.remove(gone.id);
    const added = Array.from({ length: 2500 }, (_, i) => webhook(10 + i));
    await store.importRecipients([
      ...added.map((add) => ({ add })),
      { id: kept.id, next: (current: Recipient) => ({ ...current, groups: ['distros'] }) },
      { id: gone.id, next: (current: Recipient) => ({ ...current, groups: ['distros'] }) },
    ]);
    const log = (await readFile(path.join(dir, 'recipients.jsonl'), 'utf8')).trim().split('\n');
    // The replacement of `gone` is not written: it was removed before the import's write.
    expect(log).toHaveLength(3 + 2501);
    const byId = (rs: Recipient[]) => [...rs].sort((a, b) => a.id.localeCompare(b.id));
    const expected = byId([{ ...kept, groups: ['distros'] }, ...added]);
    expect(byId(await listOf(store))).toEqual(expected);
    const inRedis = await hash();
    expect(byId(Object.values(inRedis))).toEqual(expected);
    await store.close();
    store = await openRecipientStore(dir, redis, prefix);
    expect(byId(await listOf(store))).toEqual(expected);
  });
});
