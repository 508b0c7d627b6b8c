import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger } from '../../src/log';
import { CONFIRMATION_TTL_MS, openPendingSubscriptions } from '../../src/subscriptions/pending-subscriptions';

const DAY_MS = 24 * 60 * 60 * 1000;
const log = createLogger('silent');

/** The store of unconfirmed subscriptions, on a real disk, with an injected clock. */
describe('pending subscriptions', () => {
  let dir: string;
  let t = Date.parse('2026-12-01T00:00:00Z');
  const now = () => t;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tocsin-pending-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps links across a restart, stores no token, and tells used, expired and unknown apart', async () => {
    let store = await openPendingSubscriptions(dir, now, log);
    const used = await store.add('a@example.org', { min_severity: 'high' });
    const late = await store.add('b@example.org', undefined);
    await store.close();
    const file = await readFile(path.join(dir, 'subscriptions.jsonl'), 'utf8');
    expect(file).not.toContain(used);
    expect(file).not.toContain(late);

    store = await openPendingSubscriptions(dir, now, log);
    expect(store.check(used)).toEqual({ state: 'valid', pending: { address: 'a@example.org', filter: { min_severity: 'high' }, expiresAt: t + CONFIRMATION_TTL_MS } });
    expect(store.size()).toBe(2);
    await store.markUsed(used);
    await store.close();

    store = await openPendingSubscriptions(dir, now, log);
    expect(store.check(used)).toEqual({ state: 'used' });
    t += CONFIRMATION_TTL_MS;
    expect(store.check(late)).toEqual({ state: 'expired' });
    expect(store.size()).toBe(0);
    expect(store.check('never-issued')).toEqual({ state: 'unknown' });
    await store.close();

    // Long past its expiry, a link is forgotten at the next start: memory holds what can still matter.
    t += 8 * DAY_MS;
    store = await openPendingSubscriptions(dir, now, log);
    expect(store.check(late)).toEqual({ state: 'unknown' });
    await store.close();
  });
  const linesOf = async () => (await readFile(path.join(dir, 'subscriptions.jsonl'), 'utf8')).split('\n').filter((l) => l !== '').length;

  it('rewrites the file without forgotten links, at start and once it has grown, and every link still reads as before', async () => {
    // A burst of requests nobody confirmed.
    let store = await openPendingSubscriptions(dir, now, log);
    for (let i = 0; i < 300; i++) await store.add(`nobody${i}@example.org`, undefined);
    await store.close();
    expect(await linesOf()).toBe(300);

    // Long forgotten at the next start: the file is rewritten to hold nothing.
    t += 10 * DAY_MS;
    store = await openPendingSubscriptions(dir, now, log);
    expect(await linesOf()).toBe(0);

    // Another burst, while the process runs, and three links that must outlive its forgetting.
    for (let i = 0; i < 300; i++) await store.add(`burst${i}@example.org`, undefined);
    t += 8 * DAY_MS;
    const used = await store.add('used@example.org', { min_severity: 'critical' });
    await store.markUsed(used);
    const late = await store.add('late@example.org', undefined);
    expect(await linesOf()).toBe(303);
    // The burst is forgotten now; the next requests (arriving together) find the file mostly dead and rewrite it.
    t += 2 * DAY_MS;
    const [fresh, ...together] = await Promise.all([store.add('fresh@example.org', { min_severity: 'high' }), ...Array.from({ length: 10 }, (_, i) => store.add(`together${i}@example.org`, undefined))]);
    expect(await linesOf()).toBe(14);
    // Appends after the rewrite go to the new file.
    const after = await store.add('after@example.org', undefined);
    expect(await linesOf()).toBe(15);

    const states = () => [used, late, fresh!, after, ...together, 'never-issued'].map((token) => store.check(token).state);
    const expected = ['used', 'expired', 'valid', 'valid', ...together.map(() => 'valid'), 'unknown'];
    expect(states()).toEqual(expected);
    expect(store.size()).toBe(12);
    await store.close();

    store = await openPendingSubscriptions(dir, now, log);
    expect(states()).toEqual(expected);
    expect(store.check(fresh!)).toEqual({ state: 'valid', pending: { address: 'fresh@example.org', filter: { min_severity: 'high' }, expiresAt: t + CONFIRMATION_TTL_MS } });
    expect(store.size()).toBe(12);
    // What the rewrite kept is a link like any other: it is used once.
    await store.markUsed(fresh!);
    expect(store.check(fresh!)).toEqual({ state: 'used' });
    await store.close();
    expect(await linesOf()).toBe(16);
  });
});
