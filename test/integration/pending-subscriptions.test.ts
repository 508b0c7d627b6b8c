import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CONFIRMATION_TTL_MS, openPendingSubscriptions } from '../../src/subscriptions/pending-subscriptions';

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
    let store = await openPendingSubscriptions(dir, now);
    const used = await store.add('a@example.org', { min_severity: 'high' });
    const late = await store.add('b@example.org', undefined);
    await store.close();
    const file = await readFile(path.join(dir, 'subscriptions.jsonl'), 'utf8');
    expect(file).not.toContain(used);
    expect(file).not.toContain(late);

    store = await openPendingSubscriptions(dir, now);
    expect(store.check(used)).toEqual({ state: 'valid', pending: { address: 'a@example.org', filter: { min_severity: 'high' }, expiresAt: t + CONFIRMATION_TTL_MS } });
    expect(store.size()).toBe(2);
    await store.markUsed(used);
    await store.close();

    store = await openPendingSubscriptions(dir, now);
    expect(store.check(used)).toEqual({ state: 'used' });
    t += CONFIRMATION_TTL_MS;
    expect(store.check(late)).toEqual({ state: 'expired' });
    expect(store.size()).toBe(0);
    expect(store.check('never-issued')).toEqual({ state: 'unknown' });
    await store.close();

    // Long past its expiry, a link is forgotten at the next start: memory holds what can still matter.
    t += 8 * 24 * 60 * 60 * 1000;
    store = await openPendingSubscriptions(dir, now);
    expect(store.check(late)).toEqual({ state: 'unknown' });
    await store.close();
  });
});
