import { documentText, sampleAdvisory, uniqueId } from '../support/advisory-fixture';
import { eventually } from '../support/eventually';
import { startFakeMastodon, type FakeMastodon } from '../support/fake-mastodon';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack';
import { useGpgPublisher } from '../support/use-gpg-publisher';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink';
import { ADMIN_TOKEN } from '../support/tocsin-harness';
import { useTocsin } from '../support/use-tocsin';
import { startReceiver, type Receiver } from '../support/webhook-receiver';

const MASTODON_TOKEN = 'good-token-0123456789';

/**
 * One queue per channel: with the SMTP relay down and Slack answering 500, webhooks and Mastodon
 * deliver as fast as when everything is up, and email and Slack catch up once their peers return.
 */
describe('channel independence', () => {
  const publisher = useGpgPublisher('sec@example.org');
  let webhook: Receiver;
  let mastodon: FakeMastodon;
  let slack: FakeSlack;
  let smtp: SmtpSink;
  let outage = false;

  beforeAll(async () => {
    webhook = await startReceiver();
    mastodon = await startFakeMastodon({ maxCharacters: 20_000, tokens: [MASTODON_TOKEN] });
    slack = await startFakeSlack(() => (outage ? { status: 500 } : { ok: true }));
    // Down for new connections and for pooled ones already open: 421 at greeting and at RCPT.
    const down = () => (outage ? { code: 421, message: 'Service not available, closing transmission channel' } : null);
    smtp = await startSmtpSink({ onConnect: down, onRcptTo: down });
  });
  const tocsin = useTocsin(() => ({
    publishers: [publisher.armoredPublicKey],
    // Retries here come every 100-400 ms; enough of them that the outage outlasts none.
    env: { TOCSIN_SMTP_URLS: smtp.url, TOCSIN_MAIL_FROM: 'ACME Security <security@acme.example>', TOCSIN_MAX_ATTEMPTS: '1000' },
  }));
  beforeAll(async () => {
    const enrol = async (body: Record<string, unknown>) => {
      const r = await tocsin.call('POST', '/v1/recipients', body, { authorization: `Bearer ${ADMIN_TOKEN}` });
      expect(r.status).toBe(201);
    };
    await enrol({ type: 'webhook', url: webhook.url() });
    await enrol({ type: 'mastodon', instance_url: mastodon.url, access_token: MASTODON_TOKEN });
    // Several recipients on the failing channels, so that a shared queue would visibly be blocked.
    for (let i = 0; i < 5; i++) {
      await enrol({ type: 'email', address: `ops${i}@example.org` });
      await enrol({ type: 'slack', channel_id: `C0INDEP${i}`, token: 'xoxb-independence-0000', api_url: slack.apiUrl });
    }
  });
  afterAll(async () => {
    await Promise.all([webhook?.close(), mastodon?.close(), slack?.close(), smtp?.close()]);
  });

  /** Publishes and resolves to the time (ms since submission) webhook and Mastodon took. */
  async function publishAndTimeHealthyChannels(): Promise<{ id: string; webhookMs: number; mastodonMs: number }> {
    const id = uniqueId('INDEP');
    const document = documentText(sampleAdvisory({ id }));
    const signatures = [await publisher.sign(document)];
    const [webhookBefore, mastodonBefore] = [webhook.requests.length, mastodon.statuses.length];
    const start = Date.now();
    expect((await tocsin.call('POST', '/v1/advisories', { document, signatures })).status).toBe(202);
    let webhookMs = -1;
    let mastodonMs = -1;
    await Promise.all([
      webhook.waitFor(webhookBefore + 1, 15_000).then(() => (webhookMs = Date.now() - start)),
      mastodon.waitForStatuses(mastodonBefore + 1, 15_000).then(() => (mastodonMs = Date.now() - start)),
    ]);
    return { id, webhookMs, mastodonMs };
  }

  async function summary(id: string) {
    const r = await tocsin.call('GET', `/v1/advisories/${id}/deliveries`);
    const byChannel: Record<string, Record<string, number>> = {};
    for (const d of r.json.deliveries as { channel: string; state: string }[]) {
      byChannel[d.channel] ??= {};
      byChannel[d.channel]![d.state] = (byChannel[d.channel]![d.state] ?? 0) + 1;
    }
    return byChannel;
  }

  it('keeps webhooks and Mastodon at their normal latency while email and Slack are down, then catches up', async () => {
    const baseline = await publishAndTimeHealthyChannels();
    await eventually(async () => {
      const s = await summary(baseline.id);
      return s.email?.delivered === 5 && s.slack?.delivered === 5 ? s : undefined;
    }, 20_000, 'baseline fully delivered');

    outage = true;
    const smtpRefusedBefore = smtp.connections();
    const slackCallsBefore = slack.calls.length;
    const during = await publishAndTimeHealthyChannels();

    // Email and Slack are being tried and are failing, not merely slow to start...
    await eventually(async () => {
      const s = await summary(during.id);
      return (s.email?.retrying ?? 0) > 0 && (s.slack?.retrying ?? 0) > 0 ? s : undefined;
    }, 15_000, 'email and slack retrying').catch(async (err: unknown) => {
      const r = await tocsin.call('GET', `/v1/advisories/${during.id}/deliveries`);
      throw new Error(`${(err as Error).message}: ${JSON.stringify(r.json.deliveries.filter((d: { state: string }) => d.state === 'failed').slice(0, 2))}`);
    });
    expect(smtp.connections()).toBeGreaterThan(smtpRefusedBefore);
    expect(slack.calls.length).toBeGreaterThan(slackCallsBefore);
    const stalled = await summary(during.id);
    expect(stalled.email?.delivered ?? 0).toBe(0);
    expect(stalled.slack?.delivered ?? 0).toBe(0);
    expect(stalled.webhook).toEqual({ delivered: 1 });
    expect(stalled.mastodon).toEqual({ delivered: 1 });

    // ...and the healthy channels were as quick as with every peer up (generous bound: a shared
    // queue stuck behind ten failing sends with timeouts and backoff would be far slower).
    expect(during.webhookMs).toBeLessThanOrEqual(Math.max(1_500, baseline.webhookMs * 5));
    expect(during.mastodonMs).toBeLessThanOrEqual(Math.max(1_500, baseline.mastodonMs * 5));

    outage = false;
    const settled = await eventually(async () => {
      const s = await summary(during.id);
      return s.email?.delivered === 5 && s.slack?.delivered === 5 ? s : undefined;
    }, 30_000, 'email and slack delivered after recovery');
    expect(settled).toEqual({ webhook: { delivered: 1 }, mastodon: { delivered: 1 }, email: { delivered: 5 }, slack: { delivered: 5 } });
    console.log(
      `independence: webhook ${baseline.webhookMs} ms healthy / ${during.webhookMs} ms during outage; ` +
        `mastodon ${baseline.mastodonMs} ms / ${during.mastodonMs} ms`,
    );
  });
});
