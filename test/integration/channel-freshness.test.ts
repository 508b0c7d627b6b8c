import { startTocsin, type Tocsin } from '../support/tocsin-harness';
import { eventually } from '../support/eventually';
import { startReceiver, type Receiver } from '../support/webhook-receiver';
import { deleteRedisPrefix } from '../support/redis-prefix';

/** /readyz tells which channels have not reached anyone lately, and a drill clears it. */
describe('channel freshness on /readyz', () => {
  let tocsin: Tocsin;
  let receiver: Receiver;

  beforeAll(async () => {
    tocsin = await startTocsin();
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver?.close();
    await tocsin?.close();
  });

  it('warns about a channel with recipients and no successful delivery, shows each channel\'s last one, and a drill clears the warning', async () => {
    const quiet = await tocsin.call('GET', '/readyz');
    expect(quiet.json.warnings).toEqual({});
    expect(quiet.json.last_delivery).toEqual({ webhook: null, email: null, slack: null, mastodon: null });

    await tocsin.addWebhook(receiver.url('/partner'));
    const stale = await tocsin.call('GET', '/readyz');
    expect(stale.status).toBe(200);
    expect(stale.json.warnings.channel_webhook).toContain('no successful delivery known');
    expect(stale.json.warnings).not.toHaveProperty('channel_email');

    const before = Date.now();
    expect((await tocsin.admin('POST', '/v1/drills', {})).status).toBe(202);
    const ready = await eventually(async () => {
      const r = await tocsin.call('GET', '/readyz');
      return r.json.last_delivery.webhook ? r.json : undefined;
    }, 20_000, 'a webhook delivery on /readyz');
    expect(Date.parse(ready.last_delivery.webhook)).toBeGreaterThanOrEqual(before);
    expect(ready.warnings).toEqual({});
    const metrics = await tocsin.call('GET', '/metrics');
    const sample = /^tocsin_channel_last_success_timestamp_seconds\{channel="webhook"\} (\S+)$/m.exec(metrics.text);
    expect(Number(sample?.[1]) * 1000).toBeCloseTo(Date.parse(ready.last_delivery.webhook), -1);
    expect(metrics.text).not.toContain('tocsin_channel_last_success_timestamp_seconds{channel="email"}');

    // Read from the durable receipts, not from Redis: a Redis that lost its data changes nothing.
    expect(await deleteRedisPrefix(tocsin.config.redisUrl, tocsin.config.prefix)).toBeGreaterThan(0);
    const afterLoss = await tocsin.call('GET', '/readyz');
    expect(afterLoss.json.last_delivery.webhook).toBe(ready.last_delivery.webhook);
    expect(afterLoss.json.warnings).not.toHaveProperty('channel_webhook');
  });
});
