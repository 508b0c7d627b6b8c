import { Redis } from 'ioredis';
import { redisKeys } from '../../src/queue/redis-keys';
import { documentText, sampleAdvisory, uniqueId } from '../support/advisory-fixture';
import { eventually } from '../support/eventually';
import { createGpgPublisher, type GpgPublisher } from '../support/gpg';
import { startTocsin, ADMIN_TOKEN, type Tocsin } from '../support/tocsin-harness';
import { startReceiver, type Receiver } from '../support/webhook-receiver';

/**
 * The embargo with the two-person rule, a widened audience and a retraction: the embargo's clock is
 * absolute (a hold that completes after the end sends to everyone at once), groups added to the
 * audience hear at once, and a withdrawn advisory's release never fires.
 */
describe('embargoes that move, wait for signatures, or are withdrawn', () => {
  let alice: GpgPublisher;
  let bob: GpgPublisher;
  let tocsin: Tocsin;
  let peers: Receiver;

  beforeAll(async () => {
    alice = await createGpgPublisher('alice@example.org');
    bob = await createGpgPublisher('bob@example.org');
    peers = await startReceiver();
    tocsin = await startTocsin({ publishers: [alice.armoredPublicKey, bob.armoredPublicKey], env: { TOCSIN_REQUIRE_SIGNATURES: 'critical:2' } });
  });
  afterAll(async () => {
    await tocsin?.close();
    await peers?.close();
    await Promise.all([alice?.dispose(), bob?.dispose()]);
  });

  async function enrol(path: string, extra: Record<string, unknown> = {}): Promise<void> {
    const r = await tocsin.call('POST', '/v1/recipients', { type: 'webhook', url: peers.url(path), ...extra }, { authorization: `Bearer ${ADMIN_TOKEN}` });
    expect(r.status).toBe(201);
  }

  /** A partner per group named and a public recipient, on paths of their own. */
  async function recipients(...groups: string[]) {
    const tag = uniqueId('R');
    const out: Record<string, string> = { public: `/public-${tag}` };
    await enrol(out.public!);
    for (const g of groups) {
      out[g] = `/${g}-${tag}`;
      await enrol(out[g]!, { groups: [g] });
    }
    return out;
  }

  const arrivals = (path: string, id: string, revision?: number) =>
    peers.requests.filter((r) => {
      const body = JSON.parse(r.body) as { id: string; revision: number };
      return r.path === path && body.id === id && (revision === undefined || body.revision === revision);
    });
  const arrived = (path: string, id: string, revision?: number) =>
    eventually(async () => arrivals(path, id, revision)[0], 15_000, `${id}${revision ? ` r${revision}` : ''} at ${path}`);

  /** Submits with the given publishers' signatures; resolves to the answer's body. */
  async function submit(doc: Record<string, unknown>, signers: GpgPublisher[]): Promise<Record<string, any>> {
    const document = documentText(doc.kind === 'retraction' ? doc : sampleAdvisory(doc));
    const r = await tocsin.call('POST', '/v1/advisories', { document, signatures: await Promise.all(signers.map((s) => s.sign(document))) });
    expect(r.status).toBe(202);
    return r.json;
  }

  const inMs = (ms: number) => new Date(Date.now() + ms).toISOString();

  it('a held advisory whose embargo ended while it waited goes to everyone at once, with the ordinary notice', async () => {
    const to = await recipients('distros');
    const id = uniqueId('HELD');
    const control = uniqueId('CONTROL');
    const until = inMs(1_500);
    const document = documentText(sampleAdvisory({ id, embargo_until: until, audience: ['distros'] }));
    expect((await submit({ id, embargo_until: until, audience: ['distros'] }, [alice])).status).toBe('awaiting_signatures');
    // One publisher suffices below critical: released at the same end, it shows the end has passed.
    await submit({ id: control, severity: 'high', embargo_until: until, audience: ['distros'] }, [alice]);
    await arrived(to.public!, control);
    expect(arrivals(to.distros!, id)).toHaveLength(0);

    const r = await tocsin.call('POST', `/v1/advisories/${id}/signatures`, { signatures: [await bob.sign(document)] });
    expect(r.status).toBe(202);
    expect(r.json.status).toBe('accepted');
    await Promise.all([arrived(to.public!, id), arrived(to.distros!, id)]);
    const redis = new Redis(tocsin.config.redisUrl);
    try {
      expect(await redis.exists(redisKeys(tocsin.config.prefix).notice('webhook', { id, revision: 1 }, 'embargoed'))).toBe(0);
    } finally {
      redis.disconnect();
    }
  });

  it('a held advisory whose signatures complete before the end goes to the audience only, the rest at the end', async () => {
    const to = await recipients('distros');
    const id = uniqueId('HELDEARLY');
    const until = inMs(3_000);
    const document = documentText(sampleAdvisory({ id, embargo_until: until, audience: ['distros'] }));
    await submit({ id, embargo_until: until, audience: ['distros'] }, [alice]);
    expect((await tocsin.call('POST', `/v1/advisories/${id}/signatures`, { signatures: [await bob.sign(document)] })).json.status).toBe('accepted');
    const partner = await arrived(to.distros!, id);
    expect(partner.at).toBeLessThan(Date.parse(until));
    const released = await arrived(to.public!, id);
    expect(released.at).toBeGreaterThanOrEqual(Date.parse(until));
  });

  it('a group added to the audience hears the new revision at once; the public still at the end', async () => {
    const to = await recipients('distros', 'cloud');
    const id = uniqueId('WIDEN');
    const until = inMs(3_000);
    await submit({ id, severity: 'high', embargo_until: until, audience: ['distros'] }, [alice]);
    await arrived(to.distros!, id, 1);
    await submit({ id, revision: 2, severity: 'high', embargo_until: until, audience: ['distros', 'cloud'] }, [alice]);
    const cloud = await arrived(to.cloud!, id, 2);
    expect(cloud.at).toBeLessThan(Date.parse(until));
    await arrived(to.distros!, id, 2);
    const released = await arrived(to.public!, id, 2);
    expect(released.at).toBeGreaterThanOrEqual(Date.parse(until));
    expect(arrivals(to.cloud!, id, 1)).toHaveLength(0);
  });

  it('withdrawn under its embargo: the retraction reaches the partners told, and the release never fires', async () => {
    const to = await recipients('distros');
    const id = uniqueId('PULLED');
    const control = uniqueId('CONTROL');
    const until = inMs(2_500);
    await submit({ id, severity: 'high', embargo_until: until, audience: ['distros'] }, [alice]);
    await submit({ id: control, severity: 'high', embargo_until: until, audience: ['distros'] }, [alice]);
    await arrived(to.distros!, id);
    const retraction = uniqueId('RETR');
    await submit(
      { id: retraction, revision: 1, kind: 'retraction', retracts: id, title: `Withdrawn: ${id}`, summary: 'Not a vulnerability after all.', published: '2026-12-02T10:00:00Z' },
      [alice],
    );
    await arrived(to.distros!, retraction);

    await arrived(to.public!, control);
    await eventually(async () => {
      const r = await tocsin.admin('GET', `/v1/advisories/${control}/deliveries`);
      return r.json.summary.pending === 0 ? r.json : undefined;
    });
    expect(arrivals(to.public!, id)).toHaveLength(0);
    expect(arrivals(to.public!, retraction)).toHaveLength(0);
    // The check a restart would run finds nothing due either.
    await tocsin.api.maintain();
    expect(arrivals(to.public!, id)).toHaveLength(0);
  });
});
