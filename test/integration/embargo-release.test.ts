import { documentText, sampleAdvisory, uniqueId } from '../support/advisory-fixture';
import { eventually } from '../support/eventually';
import { createGpgPublisher, type GpgPublisher } from '../support/gpg';
import { Redis } from 'ioredis';
import { redisKeys } from '../../src/queue/redis-keys';
import { deleteRedisPrefix } from '../support/redis-prefix';
import { startTocsin, ADMIN_TOKEN, type Tocsin } from '../support/tocsin-harness';
import { startReceiver, type Receiver } from '../support/webhook-receiver';

/** How late after `embargo_until` the public may hear, at most (the issue's promise). */
const RELEASE_WITHIN_MS = 5_000;

/**
 * Coordinated disclosure through the running service: the embargo's audience (group `distros`)
 * hears at once, everyone else at `embargo_until` and not before, by itself, across restarts and a
 * Redis that lost its data; partners are never sent the same revision twice.
 */
describe('embargo release', () => {
  let publisher: GpgPublisher;
  let tocsin: Tocsin;
  let peers: Receiver;

  beforeAll(async () => {
    publisher = await createGpgPublisher('sec@example.org');
    // `/flaky...` fails its first request (retried), `/gone...` answers its first 410 (failed for good, replayable).
    peers = await startReceiver((n, req) => (n === 0 && req.path.startsWith('/flaky') ? { status: 500 } : n === 0 && req.path.startsWith('/gone') ? { status: 410 } : { status: 204 }));
    tocsin = await startTocsin({ publishers: [publisher.armoredPublicKey] });
  });
  afterAll(async () => {
    await tocsin?.close();
    await peers?.close();
    await publisher?.dispose();
  });

  async function enrol(path: string, extra: Record<string, unknown> = {}): Promise<string> {
    const r = await tocsin.call('POST', '/v1/recipients', { type: 'webhook', url: peers.url(path), ...extra }, { authorization: `Bearer ${ADMIN_TOKEN}` });
    expect(r.status).toBe(201);
    return r.json.id as string;
  }

  /** A partner in `distros` and a public recipient, each on a path of its own. */
  async function partnerAndPublic(): Promise<{ partner: string; public: string }> {
    const tag = uniqueId('P');
    const partner = `/distros-${tag}`;
    const pub = `/public-${tag}`;
    await enrol(partner, { groups: ['distros'] });
    await enrol(pub);
    return { partner, public: pub };
  }

  /** What arrived at `path` about `id` (revision, when given), in order. */
  const arrivals = (path: string, id: string, revision?: number) =>
    peers.requests.filter((r) => {
      if (r.path !== path) return false;
      const body = JSON.parse(r.body) as { id: string; revision: number };
      return body.id === id && (revision === undefined || body.revision === revision);
    });

  const arrived = (path: string, id: string, revision?: number, timeoutMs = 15_000) =>
    eventually(async () => arrivals(path, id, revision)[0], timeoutMs, `${id}${revision ? ` r${revision}` : ''} at ${path}`);

  async function publish(doc: Record<string, unknown>): Promise<void> {
    const document = documentText(sampleAdvisory(doc));
    const r = await tocsin.call('POST', '/v1/advisories', { document, signatures: [await publisher.sign(document)] });
    expect(r.status).toBe(202);
  }

  const inMs = (ms: number) => new Date(Date.now() + ms).toISOString();

  /** Resolves once the admin API says every delivery of the revision so far is delivered. */
  const settledDeliveries = (id: string, revision: number) =>
    eventually(async () => {
      const r = await tocsin.admin('GET', `/v1/advisories/${id}/deliveries?revision=${revision}`);
      return r.json.summary.pending === 0 && r.json.summary.retrying === 0 ? r.json : undefined;
    }, 15_000, `${id} r${revision} deliveries settled`);

  it('tells the embargo audience at once, everyone else at embargo_until (not before, within 5 s), partners once', async () => {
    const to = await partnerAndPublic();
    const id = uniqueId('EMB');
    const until = inMs(3_000);
    await publish({ id, embargo_until: until, audience: ['distros'] });

    const first = await arrived(to.partner, id);
    expect(first.at).toBeLessThan(Date.parse(until));
    const before = await settledDeliveries(id, 1);
    expect((before.deliveries as { recipient: string }[]).length).toBeGreaterThan(0);
    // The admin view names whom the release will add, and when; the wait does not count them.
    expect(before.scheduled).toMatchObject({ release_at: new Date(until).toISOString(), by_channel: { webhook: expect.any(Number) } });
    expect((before.scheduled.recipients as { recipient: string }[]).length).toBe(before.scheduled.count);
    // Streamed, the body keeps res.json's order: the list, then what follows it.
    expect(Object.keys(before)).toEqual(['id', 'revision', 'view', 'summary', 'summary_by_channel', 'deliveries', 'scheduled']);
    // The audience's notice is the embargoed one (it says so); the ordinary one exists only from the release.
    const keys = redisKeys(tocsin.config.prefix);
    const redis = new Redis(tocsin.config.redisUrl);
    const ref = { id, revision: 1 };
    try {
      expect(await redis.exists(keys.notice('webhook', ref, 'embargoed'))).toBe(1);
      expect(await redis.exists(keys.notice('webhook', ref))).toBe(0);
    } finally {
      redis.disconnect();
    }

    const released = await arrived(to.public, id, undefined, 15_000);
    expect(released.at).toBeGreaterThanOrEqual(Date.parse(until));
    expect(released.at - Date.parse(until)).toBeLessThan(RELEASE_WITHIN_MS);
    const after = await settledDeliveries(id, 1);
    expect(after.scheduled).toBeUndefined();
    expect(arrivals(to.partner, id)).toHaveLength(1);
    expect(arrivals(to.public, id)).toHaveLength(1);
  });

  it('an embargo already over at acceptance is an ordinary publish', async () => {
    const to = await partnerAndPublic();
    const id = uniqueId('PAST');
    await publish({ id, embargo_until: inMs(-60_000), audience: ['distros'] });
    await Promise.all([arrived(to.partner, id), arrived(to.public, id)]);
    await settledDeliveries(id, 1);
    expect(arrivals(to.partner, id)).toHaveLength(1);
  });

  it('releases on time after the API and the workers restart during the embargo', async () => {
    const to = await partnerAndPublic();
    const id = uniqueId('RESTART');
    const until = inMs(4_000);
    await publish({ id, embargo_until: until, audience: ['distros'] });
    await arrived(to.partner, id);
    await settledDeliveries(id, 1);

    await tocsin.restartWorkers();
    await tocsin.restartApi();

    const released = await arrived(to.public, id);
    expect(released.at).toBeGreaterThanOrEqual(Date.parse(until));
    expect(released.at - Date.parse(until)).toBeLessThan(RELEASE_WITHIN_MS);
    await settledDeliveries(id, 1);
    expect(arrivals(to.partner, id)).toHaveLength(1);
  });

  it('releases on time after Redis lost its data during the embargo, and does not send to partners again', async () => {
    const to = await partnerAndPublic();
    const id = uniqueId('WIPE');
    const until = inMs(4_000);
    await publish({ id, embargo_until: until, audience: ['distros'] });
    await arrived(to.partner, id);
    await settledDeliveries(id, 1);

    // Redis restarts empty: jobs, notices, recipients, delivery states all gone; recovery runs
    // as it does when the connection comes back.
    await deleteRedisPrefix(tocsin.config.redisUrl, tocsin.config.prefix);
    await tocsin.api.reconcile();

    const released = await arrived(to.public, id);
    expect(released.at).toBeGreaterThanOrEqual(Date.parse(until));
    expect(released.at - Date.parse(until)).toBeLessThan(RELEASE_WITHIN_MS);
    await settledDeliveries(id, 1);
    expect(arrivals(to.partner, id)).toHaveLength(1);
  });

  it('moving the embargo later: the first end passes without a release; the public gets the new revision at the new end', async () => {
    const to = await partnerAndPublic();
    const id = uniqueId('LATER');
    const control = uniqueId('CONTROL');
    const first = inMs(3_000);
    await publish({ id, embargo_until: first, audience: ['distros'] });
    // Released at the first end: the event that proves that time has come and gone.
    await publish({ id: control, embargo_until: first, audience: ['distros'] });
    await arrived(to.partner, id, 1);
    const second = inMs(6_000);
    await publish({ id, revision: 2, embargo_until: second, audience: ['distros'], summary: 'Extended: the fix needs another week.' });
    await arrived(to.partner, id, 2);

    await arrived(to.public, control);
    expect(arrivals(to.public, id)).toHaveLength(0);

    const released = await arrived(to.public, id, 2);
    expect(released.at).toBeGreaterThanOrEqual(Date.parse(second));
    expect(released.at - Date.parse(second)).toBeLessThan(RELEASE_WITHIN_MS);
    await settledDeliveries(id, 2);
    // Revision 1 never went public: its release gave way to revision 2's.
    expect(arrivals(to.public, id, 1)).toHaveLength(0);
    expect(arrivals(to.partner, id, 2)).toHaveLength(1);
  });

  it('moving the embargo earlier releases at the new end, long before the first', async () => {
    const to = await partnerAndPublic();
    const id = uniqueId('EARLIER');
    await publish({ id, embargo_until: inMs(120_000), audience: ['distros'] });
    await arrived(to.partner, id, 1);
    const second = inMs(2_000);
    await publish({ id, revision: 2, embargo_until: second, audience: ['distros'] });
    await arrived(to.partner, id, 2);

    const released = await arrived(to.public, id, 2);
    expect(released.at).toBeGreaterThanOrEqual(Date.parse(second));
    expect(released.at - Date.parse(second)).toBeLessThan(RELEASE_WITHIN_MS);

    // And to the past: an ordinary publish of revision 3 to everyone, at once.
    await publish({ id, revision: 3, embargo_until: inMs(-1_000), audience: ['distros'] });
    await Promise.all([arrived(to.partner, id, 3), arrived(to.public, id, 3)]);
    await settledDeliveries(id, 3);
    expect(arrivals(to.public, id, 1)).toHaveLength(0);
  });

  it("a partner's retry and an operator's replay under the embargo send the embargoed notice, before the end", async () => {
    const tag = uniqueId('P');
    const flaky = await enrol(`/flaky-${tag}`, { groups: ['distros'] });
    const gone = await enrol(`/gone-${tag}`, { groups: ['distros'] });
    const id = uniqueId('RETRY');
    const until = inMs(60_000);
    await publish({ id, embargo_until: until, audience: ['distros'] });

    const stateOf = async (recipient: string) => {
      const r = await tocsin.admin('GET', `/v1/advisories/${id}/deliveries`);
      return (r.json.deliveries as { recipient: string; state: string; attempts: number }[]).find((d) => d.recipient === recipient);
    };
    // The retry job looks up the notice of its stage: with the ordinary one it would wait for ever.
    expect(await eventually(async () => (await stateOf(flaky))?.state === 'delivered' && stateOf(flaky))).toMatchObject({ attempts: 2 });
    await eventually(async () => (await stateOf(gone))?.state === 'failed');
    const replay = await tocsin.admin('POST', '/v1/deliveries/replay', { advisory: id, recipients: [gone] });
    expect(replay.status).toBe(202);
    await eventually(async () => (await stateOf(gone))?.state === 'delivered', 15_000, 'replayed delivery');
    expect(Date.now()).toBeLessThan(Date.parse(until));
    expect(arrivals(`/flaky-${tag}`, id)).toHaveLength(2);
    expect(arrivals(`/gone-${tag}`, id)).toHaveLength(2);
  });
});

describe('recovery of an embargoed revision Redis lost before any worker ran', () => {
  let publisher: GpgPublisher;
  let tocsin: Tocsin;
  let peers: Receiver;

  beforeAll(async () => {
    publisher = await createGpgPublisher('sec@example.org');
    peers = await startReceiver();
    tocsin = await startTocsin({ publishers: [publisher.armoredPublicKey], workers: false });
  });
  afterAll(async () => {
    await tocsin?.close();
    await peers?.close();
    await publisher?.dispose();
  });

  it('queues the embargoed stage again, with its own notice and jobs, and nothing for the public', async () => {
    for (const [path, groups] of [['/distros', ['distros']], ['/public', []]] as const) {
      const r = await tocsin.admin('POST', '/v1/recipients', { type: 'webhook', url: peers.url(path), groups });
      expect(r.status).toBe(201);
    }
    const id = uniqueId('LOST');
    const document = documentText(sampleAdvisory({ id, embargo_until: new Date(Date.now() + 60_000).toISOString(), audience: ['distros'] }));
    expect((await tocsin.call('POST', '/v1/advisories', { document, signatures: [await publisher.sign(document)] })).status).toBe(202);

    await deleteRedisPrefix(tocsin.config.redisUrl, tocsin.config.prefix);
    expect(await tocsin.api.reconcile()).toBe(1);
    const keys = redisKeys(tocsin.config.prefix);
    const ref = { id, revision: 1 };
    const redis = new Redis(tocsin.config.redisUrl);
    try {
      expect(await redis.exists(keys.notice('webhook', ref, 'embargoed'), keys.enqueued(ref, 'embargoed'))).toBe(2);
      expect(await redis.exists(keys.notice('webhook', ref), keys.enqueued(ref))).toBe(0);
    } finally {
      redis.disconnect();
    }

    await tocsin.restartWorkers();
    await peers.waitFor(1);
    await eventually(async () => {
      const r = await tocsin.admin('GET', `/v1/advisories/${id}/deliveries`);
      return r.json.summary.delivered === 1 ? r.json : undefined;
    });
    expect(peers.requests.map((r) => r.path)).toEqual(['/distros']);
  });
});
