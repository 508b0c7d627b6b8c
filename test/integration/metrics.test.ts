import { documentText, sampleAdvisory, uniqueId } from '../support/advisory-fixture';
import { eventually } from '../support/eventually';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack';
import { useGpgPublisher } from '../support/use-gpg-publisher';
import { startPrivateRedis } from '../support/private-redis';
import { deleteRedisPrefix } from '../support/redis-prefix';
import { parsePrometheus, sampleValue, type ParsedFamily } from '../support/prometheus-parser';
import { useTocsin } from '../support/use-tocsin';
import { startReceiver, type Receiver } from '../support/webhook-receiver';

const METRICS_TOKEN = 'metrics-token-for-tests-0123';
const OK_PATHS = ['/ok/0', '/ok/1', '/ok/2', '/ok/3', '/ok/4'];

/** Checks the families /metrics must always carry, and that their shape is right. */
function checkShape(families: Map<string, ParsedFamily>) {
  for (const family of families.values()) {
    expect(family.help).not.toBe('');
    expect(['counter', 'gauge']).toContain(family.type);
    if (family.type === 'counter') expect(family.name).toMatch(/_total$/);
    for (const s of family.samples) expect(Number.isFinite(s.value)).toBe(true);
  }
}

describe('GET /metrics after a real fan-out', () => {
  const publisher = useGpgPublisher('sec@example.org');
  let partner: Receiver;
  let slack: FakeSlack;
  const secrets: string[] = [];
  const ids: string[] = [];

  beforeAll(async () => {
    partner = await startReceiver((n, req) => {
      if (req.path === '/gone') return { status: 410 };
      if (req.path === '/flaky') return { status: n === 0 ? 500 : 204 };
      // Asks to be retried in an hour: its retry job waits in the queue's delayed set.
      if (req.path === '/later') return { status: 503, headers: { 'retry-after': '3600' } };
      return { status: 204 };
    });
    slack = await startFakeSlack();
  });
  const tocsin = useTocsin(() => ({ publishers: [publisher.armoredPublicKey], env: { TOCSIN_METRICS_TOKEN: METRICS_TOKEN } }));
  beforeAll(async () => {
    for (const p of [...OK_PATHS, '/gone', '/flaky', '/later']) {
      const r = await tocsin.addWebhook(partner.url(p));
      secrets.push(r.secret);
      ids.push(r.id);
    }
    const s = await tocsin.admin('POST', '/v1/recipients', { type: 'slack', channel_id: 'C0METRICS', token: 'xoxb-metrics-test-0000', api_url: slack.apiUrl });
    expect(s.status).toBe(201);
    ids.push(s.json.id as string);
  });
  afterAll(async () => {
    await Promise.all([partner?.close(), slack?.close()]);
  });

  const scrape = () => tocsin.call('GET', '/metrics', undefined, { authorization: `Bearer ${METRICS_TOKEN}` });

  it('wants the metrics token when one is configured, and never the admin token', async () => {
    const none = await tocsin.call('GET', '/metrics');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="tocsin-metrics"');
    expect(none.json.error.code).toBe('unauthorized');
    expect((await tocsin.call('GET', '/metrics', undefined, { authorization: `Bearer ${METRICS_TOKEN}x` })).status).toBe(401);
    expect((await tocsin.admin('GET', '/metrics')).status).toBe(401);
    const ok = await scrape();
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  });

  it('counts accepted advisories, deliveries by outcome, retries, queue depth and delivery times', async () => {
    const id = uniqueId('METRICS');
    const document = documentText(sampleAdvisory({ id, severity: 'high' }));
    const accepted = await tocsin.call('POST', '/v1/advisories', { document, signatures: [await publisher.sign(document)] });
    expect(accepted.status).toBe(202);
    const acceptedAt = Date.parse(accepted.json.accepted_at as string);

    // Every recipient settled except /later, whose retry waits an hour.
    await eventually(async () => {
      const r = await tocsin.call('GET', `/v1/advisories/${id}/deliveries`);
      const s = r.json.summary as Record<string, number>;
      return s.delivered === 7 && s.failed === 1 && s.retrying === 1 ? s : undefined;
    }, 20_000, 'fan-out settled');

    // The API commits receipts within a second of the workers' writes: wait for them, do not sleep.
    const text = await eventually(async () => {
      const r = await scrape();
      const f = parsePrometheus(r.text);
      return sampleValue(f, 'tocsin_deliveries_total', { channel: 'webhook', outcome: 'delivered' }) === 6 &&
        sampleValue(f, 'tocsin_delivery_retries_total', { channel: 'webhook' }) === 2 &&
        sampleValue(f, 'tocsin_queue_jobs', { channel: 'webhook', state: 'active' }) === 0
        ? r.text
        : undefined;
    }, 10_000, 'metrics caught up');
    const f = parsePrometheus(text);
    checkShape(f);

    expect(sampleValue(f, 'tocsin_metrics_redis_up')).toBe(1);
    expect(sampleValue(f, 'tocsin_advisories_accepted_total', { kind: 'advisory', severity: 'high' })).toBe(1);
    expect(sampleValue(f, 'tocsin_advisories_accepted_total', { kind: 'advisory', severity: 'critical' })).toBe(0);
    expect(f.get('tocsin_advisories_accepted_total')?.samples).toHaveLength(10);

    // 5 answered 204, /flaky after one retry; /gone answered 410 and was given up at once.
    expect(sampleValue(f, 'tocsin_deliveries_total', { channel: 'webhook', outcome: 'failed' })).toBe(1);
    expect(sampleValue(f, 'tocsin_delivery_failures_total', { channel: 'webhook', reason: 'permanent' })).toBe(1);
    expect(sampleValue(f, 'tocsin_delivery_failures_total', { channel: 'webhook', reason: 'attempts_exhausted' })).toBe(0);
    // /flaky once, /later once.
    expect(sampleValue(f, 'tocsin_delivery_retries_total', { channel: 'webhook' })).toBe(2);
    expect(sampleValue(f, 'tocsin_deliveries_total', { channel: 'slack', outcome: 'delivered' })).toBe(1);
    expect(sampleValue(f, 'tocsin_deliveries_total', { channel: 'mastodon', outcome: 'delivered' })).toBe(0);

    // Queue depth: /later's retry job is delayed; nothing else is left.
    expect(sampleValue(f, 'tocsin_queue_jobs', { channel: 'webhook', state: 'delayed' })).toBe(1);
    expect(sampleValue(f, 'tocsin_queue_jobs', { channel: 'webhook', state: 'waiting' })).toBe(0);
    expect(f.get('tocsin_queue_jobs')?.samples).toHaveLength(4 * 5);

    // Delivery times match what the partner saw: the first 204, and /flaky's late 204.
    const delivered = partner.requests.filter((r) => OK_PATHS.includes(r.path) || r.path === '/flaky');
    const firstSeen = (Math.min(...delivered.map((r) => r.at)) - acceptedAt) / 1000;
    const lastSeen = (Math.max(...delivered.map((r) => r.at)) - acceptedAt) / 1000;
    const first = sampleValue(f, 'tocsin_first_delivery_seconds', { channel: 'webhook', advisory: id, revision: '1' })!;
    const last = sampleValue(f, 'tocsin_last_delivery_seconds', { channel: 'webhook', advisory: id, revision: '1' })!;
    expect(first).toBeGreaterThanOrEqual(firstSeen - 0.05);
    expect(first).toBeLessThan(firstSeen + 0.5);
    expect(last).toBeGreaterThanOrEqual(lastSeen - 0.05);
    expect(last).toBeLessThan(lastSeen + 0.5);
    expect(last).toBeGreaterThan(first);
    expect(sampleValue(f, 'tocsin_first_delivery_seconds', { channel: 'slack', advisory: id })).toBeGreaterThan(0);
    expect(sampleValue(f, 'tocsin_first_delivery_seconds', { channel: 'mastodon', advisory: id })).toBeUndefined();

    // Counts and public advisory ids only: no recipient, address, URL or secret.
    expect(text).not.toContain('127.0.0.1');
    expect(text).not.toContain(String(new URL(partner.url()).port));
    for (const s of [...secrets, ...ids, 'xoxb-metrics-test-0000', METRICS_TOKEN]) expect(text).not.toContain(s);
  });

  it('reads the same delivery numbers after Redis lost its data: they are counted from the receipts on disk', async () => {
    const durable = ['tocsin_deliveries_total', 'tocsin_delivery_failures_total', 'tocsin_delivery_retries_total', 'tocsin_first_delivery_seconds', 'tocsin_last_delivery_seconds'];
    const numbers = (text: string) => {
      const f = parsePrometheus(text);
      return Object.fromEntries(durable.map((name) => [name, f.get(name)?.samples]));
    };
    const before = numbers((await scrape()).text);
    expect(before.tocsin_deliveries_total).toContainEqual(expect.objectContaining({ labels: { channel: 'webhook', outcome: 'delivered' }, value: 6 }));

    expect(await deleteRedisPrefix(tocsin.config.redisUrl, tocsin.config.prefix)).toBeGreaterThan(0);
    const after = await scrape();
    expect(sampleValue(parsePrometheus(after.text), 'tocsin_metrics_redis_up')).toBe(1);
    expect(numbers(after.text)).toEqual(before);
  });
});

describe('GET /metrics while Redis is down', () => {
  const publisher = useGpgPublisher('sec@example.org');
  let redis: Awaited<ReturnType<typeof startPrivateRedis>>;

  beforeAll(async () => {
    redis = await startPrivateRedis();
  });
  // Hooks run in the order they are declared: Redis is up again before tocsin closes...
  afterAll(async () => {
    await redis?.start();
    // Closing while the queues are still reconnecting can wait forever: let tocsin see Redis first.
    await eventually(async () => (await tocsin.call('GET', '/readyz')).status === 200, 15_000, 'redis back');
  });
  const tocsin = useTocsin(() => ({ publishers: [publisher.armoredPublicKey], env: { REDIS_URL: redis.url } }));
  // ...and stops after.
  afterAll(async () => {
    await redis?.stop();
  });

  it('is open without a token, and still counts accepted advisories and deliveries from the archive, saying Redis is down', async () => {
    const document = documentText(sampleAdvisory({ id: uniqueId('NOREDIS'), kind: 'advisory', severity: 'low' }));
    expect((await tocsin.call('POST', '/v1/advisories', { document, signatures: [await publisher.sign(document)] })).status).toBe(202);
    await redis.kill();
    const r = await tocsin.call('GET', '/metrics');
    expect(r.status).toBe(200);
    const f = parsePrometheus(r.text);
    checkShape(f);
    expect(sampleValue(f, 'tocsin_metrics_redis_up')).toBe(0);
    expect(sampleValue(f, 'tocsin_advisories_accepted_total', { kind: 'advisory', severity: 'low' })).toBe(1);
    expect(sampleValue(f, 'tocsin_deliveries_total', { channel: 'webhook', outcome: 'delivered' })).toBe(0);
    expect(f.has('tocsin_queue_jobs')).toBe(false);
  });
});
