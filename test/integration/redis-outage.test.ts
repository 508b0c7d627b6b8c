import { documentText, sampleAdvisory, uniqueId } from '../support/advisory-fixture';
import { eventually } from '../support/eventually';
import { useGpgPublisher } from '../support/use-gpg-publisher';
import { startPrivateRedis } from '../support/private-redis';
import { useTocsin } from '../support/use-tocsin';
import { startReceiver, type Receiver } from '../support/webhook-receiver';

/**
 * Accepting does not depend on Redis: with Redis dead, the API still verifies, archives and
 * answers 202 (delivery pending); when Redis comes back, empty, the fan-out starts by itself.
 */
describe('Redis outage', () => {
  const publisher = useGpgPublisher('sec@example.org');
  let redis: Awaited<ReturnType<typeof startPrivateRedis>>;
  let partner: Receiver;

  beforeAll(async () => {
    redis = await startPrivateRedis();
    partner = await startReceiver();
  });
  // Hooks run in the order they are declared: Redis is up again whatever the test reached, so
  // that tocsin can close its queues cleanly, and stops only after tocsin has closed.
  afterAll(async () => {
    await redis?.start();
  });
  const tocsin = useTocsin(() => ({ publishers: [publisher.armoredPublicKey], env: { REDIS_URL: redis.url } }));
  beforeAll(async () => {
    await tocsin.addWebhook(partner.url());
  });
  afterAll(async () => {
    await redis?.stop();
    await partner?.close();
  });

  it('accepts while Redis is down, says so in /readyz, and delivers once Redis is back', async () => {
    await redis.kill();
    const degraded = await eventually(async () => {
      const r = await tocsin.call('GET', '/readyz');
      return r.status === 503 ? r.json : undefined;
    }, 10_000, 'readyz degraded');
    expect(degraded.problems.redis).toMatch(/unreachable/);

    const id = uniqueId('OUTAGE');
    const document = documentText(sampleAdvisory({ id }));
    const accepted = await tocsin.call('POST', '/v1/advisories', { document, signatures: [await publisher.sign(document)] });
    expect(accepted.status).toBe(202);
    expect(accepted.json.delivery).toBe('pending');
    // Durable regardless: readable from the archive while Redis is still down.
    const archived = await tocsin.call('GET', `/v1/advisories/${id}`);
    expect(archived.json.document).toBe(document);
    expect(partner.requests).toHaveLength(0);

    // Redis returns with nothing in it; nobody calls reconcile: tocsin notices by itself.
    await redis.start();
    await partner.waitFor(1, 20_000);
    expect(JSON.parse(partner.requests[0]!.body).id).toBe(id);
    await eventually(async () => (await tocsin.call('GET', '/readyz')).status === 200, 10_000, 'readyz ready again');
    const summary = await eventually(async () => {
      const r = await tocsin.call('GET', `/v1/advisories/${id}/deliveries`);
      return r.json.summary.delivered === 1 ? r.json.summary : undefined;
    });
    expect(summary).toEqual({ pending: 0, delivered: 1, retrying: 0, failed: 0 });
  });
});
