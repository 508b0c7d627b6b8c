import { documentText, sampleAdvisory, uniqueId } from '../support/advisory-fixture';
import { eventually } from '../support/eventually';
import { startFakeMastodon, type FakeMastodon } from '../support/fake-mastodon';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack';
import { freePort } from '../support/free-port';
import { useGpgPublisher } from '../support/use-gpg-publisher';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink';
import { ADMIN_TOKEN } from '../support/tocsin-harness';
import { useTocsin } from '../support/use-tocsin';
import { startReceiver, type Receiver } from '../support/webhook-receiver';

interface Row {
  recipient: string;
  channel: string;
  state: string;
  attempts: number;
  detail?: string;
  last_error?: string;
  failure?: { kind: string };
}

/**
 * The public delivery read against real failures: partners on loopback that refuse connections,
 * redirect to URLs with credentials, refuse a plus-tagged mailbox, reject a Slack channel and a
 * Mastodon token. Anyone may read the route; it must name none of them. The admin token shows all.
 */
describe('public delivery read', () => {
  const publisher = useGpgPublisher('sec@example.org');
  let receiver: Receiver;
  let sink: SmtpSink;
  let slack: FakeSlack;
  let mastodon: FakeMastodon;
  let closedWebhookPort: number;
  let closedSmtpPort: number;
  let advisory: string;
  const ids: Record<string, string> = {};
  const refusedAddress = 'alerts+tocsin-critical@partner.example';
  const location = 'https://ops:hunter2@[2001:db8::5]:9443/moved?key=abc';

  beforeAll(async () => {
    receiver = await startReceiver((_n, req) => (req.path.startsWith('/moved') ? { status: 302, headers: { location } } : { status: 204 }));
    sink = await startSmtpSink({
      onRcptTo: (a) => (a === refusedAddress ? { code: 550, message: `5.1.1 <${a}>: Recipient address rejected: User unknown in virtual mailbox table` } : null),
    });
    slack = await startFakeSlack((_n, call) => (call.args.channel === 'C0SECRET42' ? { ok: false, error: 'channel_not_found' } : { ok: true }));
    mastodon = await startFakeMastodon({ tokens: ['good-token-0123456789'] });
    closedWebhookPort = await freePort();
    closedSmtpPort = await freePort();
  });
  const tocsin = useTocsin(() => ({
    publishers: [publisher.armoredPublicKey],
    env: {
      // Two attempts: every failure below ends `failed` within a second.
      TOCSIN_WEBHOOK_MAX_ATTEMPTS: '2',
      TOCSIN_MAX_ATTEMPTS: '2',
      // The first relay is down, with credentials in its URL: its failure is in every email's text.
      TOCSIN_SMTP_URLS: [`smtp://relay-user:relay-pass@127.0.0.1:${closedSmtpPort}`, sink.url].join(','),
      TOCSIN_MAIL_FROM: 'ACME Security <security@acme.example>',
    },
  }));
  beforeAll(async () => {
    const enrol = async (name: string, body: Record<string, unknown>) => {
      const r = await tocsin.admin('POST', '/v1/recipients', body);
      if (r.status !== 201) throw new Error(`enrolling ${name}: ${r.status} ${r.text}`);
      ids[name] = r.json.id as string;
    };
    await enrol('refusedV4', { type: 'webhook', url: `http://127.0.0.1:${closedWebhookPort}/hooks/acme?token=s3cr3t` });
    await enrol('refusedV6', { type: 'webhook', url: `http://[::1]:${closedWebhookPort}/hooks/acme?token=s3cr3t` });
    await enrol('moved', { type: 'webhook', url: receiver.url('/moved') });
    await enrol('hookOk', { type: 'webhook', url: receiver.url('/ok') });
    await enrol('mailRefused', { type: 'email', address: refusedAddress });
    await enrol('mailOk', { type: 'email', address: 'ops+advisories@partner.example' });
    await enrol('slackMissing', { type: 'slack', channel_id: 'C0SECRET42', token: 'xoxb-1234-5678-abcdefghijkl', api_url: slack.apiUrl });
    await enrol('slackOk', { type: 'slack', channel_id: 'C0DELIVER1', token: 'xoxb-1234-5678-abcdefghijkl', api_url: slack.apiUrl });
    await enrol('mastodonRevoked', { type: 'mastodon', instance_url: mastodon.url, access_token: 'revoked-token-0123456789' });

    const document = documentText(sampleAdvisory({ id: uniqueId('PRIV') }));
    const answer = await tocsin.call('POST', '/v1/advisories', { document, signatures: [await publisher.sign(document)] });
    expect(answer.status).toBe(202);
    advisory = answer.json.id as string;
    await eventually(async () => {
      const r = await tocsin.call('GET', `/v1/advisories/${advisory}/deliveries`);
      return r.json.summary.pending === 0 && r.json.summary.retrying === 0;
    }, 60_000, 'every delivery settled');
  });

  afterAll(async () => {
    await Promise.all([receiver?.close(), sink?.close(), slack?.close(), mastodon?.close()]);
  });

  /** Everything that identifies a partner or a relay, none of which a public reader may see. */
  const secrets = () => [
    String(closedWebhookPort),
    String(closedSmtpPort),
    String(sink.port),
    new URL(receiver.url()).port,
    new URL(slack.apiUrl).port,
    new URL(mastodon.url).port,
    '127.0.0.1',
    '::1',
    '2001:db8',
    '9443',
    'hunter2',
    'partner.example',
    'alerts+',
    'ops+',
    'relay-user',
    'relay-pass',
    'smtp://',
    'http://',
    'https://',
    's3cr3t',
    'C0SECRET42',
    'C0DELIVER1',
    'xoxb-',
    'revoked-token',
    'whsec_',
    'ESMTP',
    'queued as',
  ];

  const rows = async (admin: boolean) => {
    const r = admin ? await tocsin.admin('GET', `/v1/advisories/${advisory}/deliveries`) : await tocsin.call('GET', `/v1/advisories/${advisory}/deliveries`);
    expect(r.status).toBe(200);
    // Streamed, the body is byte for byte what res.json would send for the same object.
    expect(r.text).toBe(JSON.stringify(r.json));
    expect(Object.keys(r.json)).toEqual(['id', 'revision', 'view', 'summary', 'summary_by_channel', 'deliveries']);
    const byName = Object.fromEntries(Object.entries(ids).map(([name, id]) => [name, (r.json.deliveries as Row[]).find((d) => d.recipient === id)!]));
    return { body: r.json, text: r.text, byName };
  };

  it('shows anyone each outcome in closed terms, and nothing that names a partner', async () => {
    const { body, text, byName } = await rows(false);
    expect(body.view).toBe('public');
    expect(body.summary).toEqual({ pending: 0, delivered: 3, retrying: 0, failed: 6 });
    expect(byName.refusedV4).toMatchObject({ state: 'failed', attempts: 2, last_error: 'connection refused' });
    // A host without IPv6 answers "address not available"; either way it is named by no one.
    expect(['connection refused', 'destination unreachable']).toContain(byName.refusedV6!.last_error);
    expect(byName.moved).toMatchObject({ state: 'failed', last_error: 'HTTP 302: redirects are not followed' });
    expect(byName.mailRefused).toMatchObject({ state: 'failed', attempts: 1, last_error: 'rejected by the mail server (550)' });
    expect(byName.slackMissing).toMatchObject({ state: 'failed', attempts: 1, last_error: 'platform error: channel_not_found' });
    expect(byName.mastodonRevoked).toMatchObject({ state: 'failed', attempts: 1, last_error: 'HTTP 401' });
    for (const name of ['hookOk', 'mailOk', 'slackOk']) expect(byName[name]).toMatchObject({ state: 'delivered', attempts: 1 });

    for (const row of Object.values(byName)) {
      expect(Object.keys(row).sort()).toEqual(expect.arrayContaining(['attempts', 'channel', 'recipient', 'state', 'updated_at']));
      expect(row.detail).toBeUndefined();
      expect(row.failure).toBeUndefined();
    }
    // The ports are numbers, which a time stamp might happen to hold: they are looked for in the text fields.
    const words = secrets().filter((s) => !/^\d+$/.test(s));
    for (const s of words) expect(text).not.toContain(s);
    for (const row of Object.values(byName)) {
      for (const s of secrets()) expect(`${row.last_error ?? ''} ${row.recipient} ${row.channel}`).not.toContain(s);
    }
  });

  it('shows an admin the full text: addresses, hosts and ports, the relay that answered', async () => {
    const { body, byName } = await rows(true);
    expect(body.view).toBe('admin');
    expect(byName.refusedV4!.last_error).toContain(`127.0.0.1:${closedWebhookPort}`);
    expect(byName.refusedV4!.failure).toEqual({ kind: 'connection_refused' });
    expect(byName.moved!.last_error).toContain(location);
    expect(byName.mailRefused!.last_error).toContain(refusedAddress);
    expect(byName.mailRefused!.failure).toEqual({ kind: 'mail_rejected', code: 550 });
    expect(byName.mailOk!.detail).toContain(`127.0.0.1:${sink.port}`);
    expect(byName.slackOk!.detail).toContain('C0DELIVER1');
    expect(byName.slackMissing!.failure).toEqual({ kind: 'platform_error', code: 'channel_not_found' });
    expect(byName.hookOk!.detail).toBe('HTTP 204');
    // Neither the relay's password nor the recipients' secrets are in the admin text either.
    expect(JSON.stringify(body)).not.toMatch(/relay-pass|xoxb-|revoked-token|whsec_/);
  });

  it('tells a wrong token so, rather than quietly showing the public view', async () => {
    const wrong = await tocsin.call('GET', `/v1/advisories/${advisory}/deliveries`, undefined, { authorization: `Bearer ${ADMIN_TOKEN}x` });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toContain('Bearer');
    expect(wrong.text).not.toContain('partner.example');
    const garbled = await tocsin.call('GET', `/v1/advisories/${advisory}/deliveries`, undefined, { authorization: 'Basic b3BzOmh1bnRlcjI=' });
    expect(garbled.status).toBe(401);
  });

  it('keeps the dead-letter list (admin only) in full', async () => {
    const r = await tocsin.admin('GET', `/v1/deliveries?advisory=${advisory}`);
    expect(r.status).toBe(200);
    const letters = r.json.deliveries as { recipient: string; last_error?: string }[];
    expect(letters.find((d) => d.recipient === ids.mailRefused)!.last_error).toContain(refusedAddress);
    expect(letters.find((d) => d.recipient === ids.refusedV4)!.last_error).toContain(String(closedWebhookPort));
    expect((await tocsin.call('GET', `/v1/deliveries?advisory=${advisory}`)).status).toBe(401);
  });
});
