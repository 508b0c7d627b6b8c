import { randomBytes } from 'node:crypto';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import express from 'express';
import { Redis } from 'ioredis';
import { recipientRoutes } from '../../src/http/recipient-routes';
import { redisKeys } from '../../src/queue/redis-keys';
import { applyRoutingChanges, publicView, type Recipient, type RecipientOf } from '../../src/recipients/recipient';
import { applyHardBounce } from '../../src/recipients/recipient-status';
import { openRecipientStore, type RecipientStore } from '../../src/recipients/recipient-store';
import { targetKey } from '../../src/recipients/recipient-target';
import { linesOf } from '../../src/storage/line-file';
import { deleteRedisPrefix } from '../support/redis-prefix';

const REDIS_URL = 'redis://127.0.0.1:6379';

const webhook = (n: number): Recipient => ({
  id: `rcpt_w${String(n).padStart(19, '0')}`,
  type: 'webhook',
  url: `http://127.0.0.1:9/${n}`,
  secret: `whsec_${Buffer.alloc(32, n % 256).toString('base64')}`,
  created_at: '2026-01-01T00:00:00.000Z',
});

/** Emails share addresses in fives (in other cases), so that a lookup by address finds several. */
const email = (n: number): RecipientOf<'email'> => ({
  id: `rcpt_e${String(n).padStart(19, '0')}`,
  type: 'email',
  address: `${n % 2 ? 'Person' : 'person'}${Math.floor(n / 5)}@example.org`,
  unsubscribe_token: `tok_${n}`,
  created_at: '2026-01-01T00:00:00.000Z',
});

async function listOf(store: RecipientStore): Promise<Recipient[]> {
  const out: Recipient[] = [];
  for await (const r of store.all()) out.push(r);
  return out;
}

/** A small deterministic generator (mulberry32): a failing sequence can be replayed from its seed. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What the store must answer, as the old in-memory directory kept it: a Map, in order of enrolment. */
type Model = Map<string, Recipient>;

/** Everything the store answers that the model decides. */
async function expectSame(store: RecipientStore, model: Model): Promise<void> {
  expect(await listOf(store)).toEqual([...model.values()]);
  for (const [id, r] of model) expect(await store.get(id)).toEqual(r);
  const counts = { webhook: 0, email: 0, slack: 0, mastodon: 0 };
  for (const r of model.values()) counts[r.type] += 1;
  expect(store.counts()).toEqual(counts);
  const emails = [...model.values()].filter((r): r is RecipientOf<'email'> => r.type === 'email');
  for (const e of emails) {
    expect(await store.findByUnsubscribeToken(e.unsubscribe_token)).toEqual(e);
    const atAddress = emails.filter((o) => o.address.toLowerCase() === e.address.toLowerCase());
    expect(await store.findByAddress(e.address.toUpperCase())).toEqual(atAddress);
    expect((await store.findByTarget(targetKey(e))).map((found) => found.recipient)).toEqual(atAddress);
  }
  for (const r of model.values()) if (r.type === 'webhook') expect((await store.findByTarget(targetKey(r))).map((found) => found.recipient)).toEqual([r]);
}

/** The real reader, failing once after `failAfter` lines of its first read (counted from `reads` = 0), as a disk can. */
function failingOnce(failAfter: number) {
  const reader = {
    reads: 0,
    read: async function* (f, range) {
      const first = reader.reads++ === 0;
      let n = 0;
      for await (const line of linesOf(f, range)) {
        if (first && n++ === failAfter) throw Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' });
        yield line;
      }
    } as typeof linesOf,
  };
  return reader;
}

describe('the recipient store on disk: the file is the directory, memory an index', () => {
  let dir: string;
  let file: string;
  let redis: Redis;
  let prefix: string;
  let store: RecipientStore;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tocsin-recipient-disk-'));
    file = path.join(dir, 'recipients.jsonl');
    redis = new Redis(REDIS_URL);
    prefix = `t-${randomBytes(5).toString('hex')}`;
  });
  afterEach(async () => {
    await store?.close();
    await deleteRedisPrefix(REDIS_URL, prefix);
    redis.disconnect();
    await rm(dir, { recursive: true, force: true });
  });

  const lines = async () => (await readFile(file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { op: string });

  it.each([
    [1, 1000],
    [2, 1000],
    [3, 5],
    [4, 5],
  ])('answers as a plain in-memory directory after any seeded run of changes, live and reopened (seed %i, compacting after %i dead lines)', async (seed, compactAfterDeadLines) => {
    const random = seeded(seed);
    store = await openRecipientStore(dir, redis, prefix, { compactAfterDeadLines });
    const model: Model = new Map();
    let next = 0;
    const pick = () => [...model.keys()][Math.floor(random() * model.size)];
    for (let step = 0; step < 300; step++) {
      const roll = random();
      const id = pick();
      if (roll < 0.25 || !id) {
        const r = random() < 0.5 ? webhook(next) : email(next);
        next += 1;
        await store.add(r);
        model.set(r.id, r);
      } else if (roll < 0.45) {
        const changes = random() < 0.5 ? { groups: [`g${step}`] } : { tlp: 'GREEN' as const, filter: random() < 0.5 ? null : { min_severity: 'high' as const } };
        const updated = await store.update(id, changes);
        model.set(id, applyRoutingChanges(model.get(id)!, changes));
        expect(updated).toEqual(model.get(id));
      } else if (roll < 0.6) {
        const before = model.get(id)!;
        const bounced = await store.recordHardBounce(id, '5.1.1');
        if (before.type === 'email') model.set(id, applyHardBounce(before));
        expect(bounced?.recipient).toEqual(before.type === 'email' ? model.get(id) : undefined);
      } else if (roll < 0.75) {
        expect(await store.remove(id)).toBe(true);
        model.delete(id);
        expect(await store.remove(id)).toBe(false);
      } else {
        // An import: some new, one replaced, one removed since it was checked (its replacement is dropped).
        const added = [webhook(next), email(next + 1)];
        next += 2;
        const replaced = { ...model.get(id)!, description: `step ${step}` };
        await store.importRecipients([...added.map((add) => ({ add })), { id, next: () => replaced }, { id: webhook(1_000_000).id, next: () => webhook(1_000_000) }]);
        for (const r of added) model.set(r.id, r);
        model.set(id, replaced);
      }
      if (step % 50 === 49) await expectSame(store, model);
    }
    await expectSame(store, model);
    await store.close();
    store = await openRecipientStore(dir, redis, prefix, { compactAfterDeadLines });
    await expectSame(store, model);
    // Opened, the file was compacted: one `add` per recipient.
    expect((await lines()).map((l) => l.op)).toEqual([...model.keys()].map(() => 'add'));
  });

  it('compacts while running once dead lines outnumber live ones, and keeps every recipient', async () => {
    store = await openRecipientStore(dir, redis, prefix, { compactAfterDeadLines: 10 });
    const model: Model = new Map();
    for (let n = 0; n < 5; n++) {
      await store.add(webhook(n));
      model.set(webhook(n).id, webhook(n));
    }
    for (let round = 0; round < 4; round++) {
      for (const id of model.keys()) model.set(id, (await store.update(id, { groups: [`round${round}`] }))!);
    }
    // 20 updates over 5 recipients: compacted at least once on the way, so the file is short.
    expect((await lines()).length).toBeLessThan(25);
    await expectSame(store, model);
  });

  it('reads an older log of changes without the recipient (updates, bounces, a second add) and compacts it', async () => {
    const e = email(1);
    const old = [
      { op: 'add', at: '2026-01-01T00:00:00.000Z', recipient: webhook(1) },
      { op: 'add', at: '2026-01-01T00:00:01.000Z', recipient: e },
      { op: 'update', at: '2026-01-01T00:00:02.000Z', id: webhook(1).id, changes: { groups: ['cert'] } },
      { op: 'update', at: '2026-01-01T00:00:03.000Z', id: webhook(1).id, changes: { tlp: 'GREEN' } },
      { op: 'bounce', at: '2026-01-01T00:00:04.000Z', id: e.id, status: '5.1.1' },
      { op: 'add', at: '2026-01-01T00:00:05.000Z', recipient: webhook(2) },
      { op: 'replace', at: '2026-01-01T00:00:06.000Z', recipient: { ...webhook(2), description: 'again' } },
      { op: 'add', at: '2026-01-01T00:00:07.000Z', recipient: { ...webhook(2), description: 'twice' } },
      { op: 'update', at: '2026-01-01T00:00:08.000Z', id: 'rcpt_gone', changes: { tlp: 'RED' } },
    ];
    await writeFile(file, old.map((l) => `${JSON.stringify(l)}\n`).join(''));
    store = await openRecipientStore(dir, redis, prefix);
    const model: Model = new Map<string, Recipient>([
      [webhook(1).id, { ...webhook(1), groups: ['cert'], tlp: 'GREEN' }],
      [e.id, applyHardBounce(e)],
      [webhook(2).id, { ...webhook(2), description: 'twice' }],
    ]);
    await expectSame(store, model);
    expect(await lines()).toEqual([...model.values()].map((recipient, i) => ({ op: 'add', at: old[[0, 1, 5][i]!]!.at, recipient })));
  });

  it('remembers which bounce reports were counted through a compaction and a reopen', async () => {
    store = await openRecipientStore(dir, redis, prefix, { compactAfterDeadLines: 2 });
    const e = email(1);
    await store.add(e);
    await store.add(webhook(2));
    expect((await store.recordHardBounce(e.id, '5.1.1', 'report-a'))?.duplicate).toBe(false);
    // Dead lines now outnumber live ones: the next write's end compacts.
    await store.update(webhook(2).id, { groups: ['x'] });
    await store.update(webhook(2).id, { groups: ['y'] });
    // The next op waits for that compaction: a duplicate, it writes nothing.
    expect((await store.recordHardBounce(e.id, '5.1.1', 'report-a'))?.duplicate).toBe(true);
    expect(await lines()).toEqual([expect.objectContaining({ op: 'add', bounce_reports: ['report-a'] }), expect.objectContaining({ op: 'add' })]);
    await store.close();
    store = await openRecipientStore(dir, redis, prefix);
    expect(await store.recordHardBounce(e.id, '5.1.1', 'report-a')).toEqual({ recipient: applyHardBounce(e), duplicate: true });
    expect((await store.recordHardBounce(e.id, '5.1.1', 'report-b'))?.recipient.hard_bounces).toBe(2);
  });

  it('ignores a torn last line, and appends cleanly after it', async () => {
    const first = { op: 'add', at: '2026-01-01T00:00:00.000Z', recipient: webhook(1) };
    await writeFile(file, `${JSON.stringify(first)}\n`);
    await appendFile(file, JSON.stringify({ op: 'add', at: '2026-01-01T00:00:01.000Z', recipient: webhook(2) }).slice(0, 40));
    store = await openRecipientStore(dir, redis, prefix);
    await expectSame(store, new Map([[webhook(1).id, webhook(1)]]));
    await store.add(webhook(3));
    await expectSame(store, new Map([[webhook(1).id, webhook(1)], [webhook(3).id, webhook(3)]]));
    await store.close();
    store = await openRecipientStore(dir, redis, prefix);
    await expectSame(store, new Map([[webhook(1).id, webhook(1)], [webhook(3).id, webhook(3)]]));
  });

  it('reads every recipient from the right line while many writes share flushes', async () => {
    store = await openRecipientStore(dir, redis, prefix);
    const model: Model = new Map();
    const all = Array.from({ length: 200 }, (_, n) => (n % 2 ? webhook(n) : email(n)));
    for (const r of all) model.set(r.id, r);
    await Promise.all(all.map((r) => store.add(r)));
    // Many changes at once, to different recipients and several to one: each lands on its own line.
    const changes = all.flatMap((r, n) => (n % 3 === 0 ? [{ id: r.id, groups: ['a'] }, { id: r.id, groups: ['b'] }] : [{ id: r.id, groups: [`only${n}`] }]));
    await Promise.all([...changes.map((c) => store.update(c.id, { groups: c.groups })), store.importRecipients([{ add: webhook(1000) }, { add: webhook(1001) }])]);
    for (const c of changes) model.set(c.id, applyRoutingChanges(model.get(c.id)!, { groups: c.groups }));
    model.set(webhook(1000).id, webhook(1000));
    model.set(webhook(1001).id, webhook(1001));
    // Adds in flight together may reach the file in any order: the set is the model's, and each
    // recipient is as its changes left it (two to one recipient in the order they were made).
    const live = await listOf(store);
    const byId = (rs: Recipient[]) => [...rs].sort((a, b) => a.id.localeCompare(b.id));
    expect(byId(live)).toEqual(byId([...model.values()]));
    await expectSame(store, new Map(live.map((r) => [r.id, model.get(r.id)!])));
    await store.close();
    store = await openRecipientStore(dir, redis, prefix);
    expect(await listOf(store)).toEqual(live);
  });

  it('an import waits for the writes in flight, so that it changes each recipient as they left it', async () => {
    store = await openRecipientStore(dir, redis, prefix);
    const all = Array.from({ length: 50 }, (_, n) => webhook(n));
    await store.importRecipients(all.map((add) => ({ add })));
    // Changes to every recipient in flight when the import starts, which changes them all too.
    const changes = all.map((r) => store.update(r.id, { groups: ['changed-first'] }));
    await store.importRecipients(all.map((r) => ({ id: r.id, next: (current: Recipient) => ({ ...current, description: 'imported' }) })));
    await Promise.all(changes);
    for (const r of all) expect(await store.get(r.id)).toEqual({ ...r, groups: ['changed-first'], description: 'imported' });
  });

  it('an import applies its change to the recipient as it is, not as its check read it, when something wrote to it since', async () => {
    store = await openRecipientStore(dir, redis, prefix);
    const [fresh, changed] = [webhook(1), webhook(2)];
    await store.importRecipients([{ add: fresh }, { add: changed }]);
    const [readFresh] = await store.findByTarget(targetKey(fresh));
    const [readChanged] = await store.findByTarget(targetKey(changed));
    // Written after the check read it: the read is no longer current.
    await store.update(changed.id, { groups: ['written-since'] });
    const describe = (current: Recipient) => ({ ...current, description: 'imported' });
    await store.importRecipients([
      { id: fresh.id, read: readFresh!, next: describe },
      { id: changed.id, read: readChanged!, next: describe },
    ]);
    expect(await store.get(fresh.id)).toEqual({ ...fresh, description: 'imported' });
    expect(await store.get(changed.id)).toEqual({ ...changed, groups: ['written-since'], description: 'imported' });
  });

  it('an import does not take a read from before a compaction for current, even when the line starts at the same offset', async () => {
    store = await openRecipientStore(dir, redis, prefix, { compactAfterDeadLines: 1 });
    const only = webhook(1);
    await store.add(only);
    const [read] = await store.findByTarget(targetKey(only));
    expect(read!.at).toBe(0);
    // Two changes leave more dead lines than live ones: the file is compacted, the recipient's
    // one line again at offset 0, holding the second change.
    await store.update(only.id, { groups: ['first'] });
    await store.update(only.id, { groups: ['second'] });
    await store.importRecipients([{ id: only.id, read: read!, next: (current: Recipient) => ({ ...current, description: 'imported' }) }]);
    expect((await readFile(file, 'utf8')).split('\n')[0]).toContain('"second"');
    expect(await store.get(only.id)).toEqual({ ...only, groups: ['second'], description: 'imported' });
  });

  it("takes an import's read-back up again where a failed read stopped, so that the index misses none of its recipients", async () => {
    const reader = failingOnce(120);
    store = await openRecipientStore(dir, redis, prefix, { readBack: reader.read });
    const kept = Array.from({ length: 10 }, (_, n) => webhook(n));
    await store.importRecipients(kept.map((add) => ({ add })));
    reader.reads = 0;
    // Half of them new, half updates of those already there.
    const added = Array.from({ length: 300 }, (_, n) => webhook(100 + n));
    await store.importRecipients([...added.map((add) => ({ add })), ...kept.map((r) => ({ id: r.id, next: (current: Recipient) => ({ ...current, description: 'imported' }) }))]);
    expect(reader.reads).toBe(2);
    const model = [...kept.map((r) => ({ ...r, description: 'imported' })), ...added];
    expect(await store.counts()).toMatchObject({ webhook: model.length });
    for (const r of model) expect(await store.get(r.id)).toEqual(r);
    for (const r of added) expect((await store.findByTarget(targetKey(r))).map((f) => f.recipient)).toEqual([r]);
    expect(await listOf(store)).toEqual(model);
    expect(Object.keys(await redis.hgetall(redisKeys(prefix).recipients)).sort()).toEqual(model.map((r) => r.id).sort());
    // What the index holds is what a fresh open of the file finds.
    await store.close();
    store = await openRecipientStore(dir, redis, prefix);
    expect(await listOf(store)).toEqual(model);
  });

  it('applies each line of a resumed read-back once: its dead lines are counted once too', async () => {
    const reader = failingOnce(150);
    // Compaction comes once dead lines outnumber live ones (and at least 1): 200 updates of 200
    // recipients leave 200 of each, which is not yet more. Lines applied twice would count more.
    store = await openRecipientStore(dir, redis, prefix, { readBack: reader.read, compactAfterDeadLines: 1 });
    const kept = Array.from({ length: 200 }, (_, n) => webhook(n));
    for (const r of kept) await store.add(r);
    reader.reads = 0;
    await store.importRecipients(kept.map((r) => ({ id: r.id, next: (current: Recipient) => ({ ...current, description: 'imported' }) })));
    expect(reader.reads).toBe(2);
    await store.close();
    expect(await lines()).toHaveLength(400);
    store = await openRecipientStore(dir, redis, prefix);
    expect(await listOf(store)).toEqual(kept.map((r) => ({ ...r, description: 'imported' })));
  });

  it('answers a read-back that keeps failing with an error saying the import is on disk', async () => {
    const broken: typeof linesOf = async function* () {
      yield* [];
      throw Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' });
    };
    store = await openRecipientStore(dir, redis, prefix, { readBack: broken });
    const added = Array.from({ length: 5 }, (_, n) => webhook(n));
    await expect(store.importRecipients(added.map((add) => ({ add })))).rejects.toThrow(/the import is on disk .* restart tocsin/);
    await store.close();
    store = await openRecipientStore(dir, redis, prefix);
    for (const r of added) expect(await store.get(r.id)).toEqual(r);
  });

  it('GET /v1/recipients streams, in pieces, the body res.json answered', async () => {
    store = await openRecipientStore(dir, redis, prefix);
    const all = Array.from({ length: 1500 }, (_, n) => (n % 2 ? webhook(n) : email(n)));
    await store.importRecipients(all.map((add) => ({ add })));
    await store.update(all[3]!.id, { groups: ['moved'] });
    const app = express();
    app.use('/v1/recipients', recipientRoutes({ recipients: store, allowPrivateTargets: true, resolveHost: () => Promise.resolve([]), enabledChannels: ['webhook', 'email'], importSpoolDir: path.join(dir, 'import-spool') }));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/recipients`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
      const text = await res.text();
      expect(text.length).toBeGreaterThan(3 * 64 * 1024);
      expect(text).toBe(JSON.stringify({ recipients: (await listOf(store)).map(publicView) }));
      expect((JSON.parse(text) as { recipients: { id: string }[] }).recipients.map((r) => r.id)).toEqual(all.map((r) => r.id));
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('syncs Redis in chunks: exactly the directory, stale entries dropped', async () => {
    store = await openRecipientStore(dir, redis, prefix);
    const all = Array.from({ length: 2500 }, (_, n) => webhook(n));
    await store.importRecipients(all.map((add) => ({ add })));
    const key = redisKeys(prefix).recipients;
    await redis.del(key);
    await redis.hset(key, 'rcpt_stale', '{}');
    await store.syncToRedis(redis);
    expect(await redis.hlen(key)).toBe(2500);
    expect(await redis.hexists(key, 'rcpt_stale')).toBe(0);
    expect(JSON.parse((await redis.hget(key, all[2499]!.id))!)).toEqual(all[2499]);
  });

  it('finds every line of a file read in many pieces, lines spanning two of them included', async () => {
    store = await openRecipientStore(dir, redis, prefix);
    const all = Array.from({ length: 2500 }, (_, n) => (n % 2 ? webhook(n) : email(n)));
    await store.importRecipients(all.map((add) => ({ add })));
    await store.close();
    store = await openRecipientStore(dir, redis, prefix);
    for (const r of all) expect(await store.get(r.id)).toEqual(r);
    expect(await listOf(store)).toEqual(all);
  });
});
