import { documentText, sampleAdvisory, uniqueId } from '../support/advisory-fixture';
import { eventually } from '../support/eventually';
import { startFakeMastodon, type FakeMastodon } from '../support/fake-mastodon';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack';
import { createGpgPublisher, type GpgPublisher } from '../support/gpg';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink';
import { startTocsin, ADMIN_TOKEN, type Tocsin } from '../support/tocsin-harness';
import { startReceiver, type Receiver } from '../support/webhook-receiver';

const MASTODON_TOKEN = 'good-token-0123456789';

/**
 * Who a later revision and a retraction reach, through the running service: an update goes to
 * everyone who received an earlier revision (still cleared for its label) plus whoever it newly
 * matches; a retraction to exactly those who received any revision of what it withdraws, on every
 * channel, whatever their filters say.
 */
describe('updates and retractions', () => {
  let publisher: GpgPublisher;
  let tocsin: Tocsin;
  let webhooks: Receiver;
  let mastodon: FakeMastodon;
  let slack: FakeSlack;
  let smtp: SmtpSink;

  beforeAll(async () => {
    publisher = await createGpgPublisher('sec@example.org');
    webhooks = await startReceiver();
    mastodon = await startFakeMastodon({ maxCharacters: 20_000, tokens: [MASTODON_TOKEN] });
    slack = await startFakeSlack();
    smtp = await startSmtpSink();
    tocsin = await startTocsin({
      publishers: [publisher.armoredPublicKey],
      env: { TOCSIN_SMTP_URLS: smtp.url, TOCSIN_MAIL_FROM: 'ACME Security <security@acme.example>' },
    });
  });
  afterAll(async () => {
    await tocsin?.close();
    await Promise.all([webhooks?.close(), mastodon?.close(), slack?.close(), smtp?.close()]);
    await publisher?.dispose();
  });

  async function enrol(body: Record<string, unknown>): Promise<string> {
    const r = await tocsin.call('POST', '/v1/recipients', body, { authorization: `Bearer ${ADMIN_TOKEN}` });
    expect(r.status).toBe(201);
    return r.json.id as string;
  }
  const hook = (extra: Record<string, unknown> = {}) => enrol({ type: 'webhook', url: webhooks.url(`/${uniqueId('H')}`), ...extra });

  async function publish(doc: Record<string, unknown>): Promise<void> {
    const document = documentText(doc.kind === 'retraction' ? doc : sampleAdvisory(doc));
    const r = await tocsin.call('POST', '/v1/advisories', { document, signatures: [await publisher.sign(document)] });
    expect(r.status).toBe(202);
  }

  /** Once every delivery of the revision is delivered: recipient ids per channel. */
  const deliveredTo = (id: string, revision: number) =>
    eventually(async () => {
      const r = await tocsin.admin('GET', `/v1/advisories/${id}/deliveries?revision=${revision}`);
      const ds = r.json.deliveries as { recipient: string; channel: string; state: string }[];
      if (ds.some((d) => d.state !== 'delivered')) return undefined;
      return Object.assign(new Set(ds.map((d) => d.recipient)), { webhooks: ds.filter((d) => d.channel === 'webhook').length });
    }, 20_000, `${id} r${revision} delivered`);

  it('an update reaches earlier receivers still cleared for its label, plus those it newly matches', async () => {
    const id = uniqueId('UPD');
    const server = await hook({ tlp: 'AMBER', filter: { products: ['acme-server'] } });
    const widget = await hook({ tlp: 'AMBER', filter: { products: ['acme-widget'] } });
    const criticalOnly = await hook({ tlp: 'AMBER', filter: { min_severity: 'critical' } });
    const never = await hook({ filter: { products: ['something-else'] } });
    const clearOnly = await hook();
    const amber = await hook({ tlp: 'AMBER' });

    await publish({ id });
    const first = await deliveredTo(id, 1);
    expect([server, criticalOnly, clearOnly, amber].every((r) => first.has(r))).toBe(true);
    expect(first.has(widget) || first.has(never)).toBe(false);

    await publish({
      id,
      revision: 2,
      severity: 'high',
      tlp: 'AMBER',
      affected: [
        { product: 'acme-server', versions: '<2.3.1' },
        { product: 'acme-widget', versions: '<1.0.4' },
      ],
    });
    const second = await deliveredTo(id, 2);
    // criticalOnly's filter no longer matches, but it was told revision 1: it must hear of the change.
    expect([server, widget, criticalOnly, amber].every((r) => second.has(r))).toBe(true);
    // Not cleared for AMBER, though told revision 1; never matched at all.
    expect(second.has(clearOnly)).toBe(false);
    expect(second.has(never)).toBe(false);
  });

  it('a retraction reaches exactly those who received the withdrawn advisory, on all four channels', async () => {
    const id = uniqueId('WDRN');
    const address = `${uniqueId('ops').toLowerCase()}@example.org`;
    const channel = `C${Date.now()}`;
    const told = {
      webhook: await hook(),
      filtered: await hook({ filter: { products: ['acme-server'] } }),
      email: await enrol({ type: 'email', address }),
      slack: await enrol({ type: 'slack', channel_id: channel, token: 'xoxb-retraction-0000', api_url: slack.apiUrl }),
      mastodon: await enrol({ type: 'mastodon', instance_url: mastodon.url, access_token: MASTODON_TOKEN }),
    };
    const notToldFilter = await hook({ filter: { products: ['acme-widget'] } });
    await publish({ id });
    const received = await deliveredTo(id, 1);
    expect(Object.values(told).every((r) => received.has(r))).toBe(true);
    expect(received.has(notToldFilter)).toBe(false);
    const before = { mails: smtp.mails.filter((m) => m.to.includes(address)).length, statuses: mastodon.statuses.length, posts: slack.calls.filter((c) => c.method === 'chat.postMessage' && c.args.channel === channel).length };

    // Enrolled after the advisory went out: never told it, so never told it is withdrawn.
    const lateComer = await hook();
    const retraction = uniqueId('RETR');
    await publish({
      id: retraction,
      revision: 1,
      kind: 'retraction',
      retracts: id,
      title: `Withdrawn: ${id}`,
      summary: 'The reported flaw was a misconfigured test system; no release is affected.',
      published: '2026-12-02T10:00:00Z',
    });
    const withdrawn = await deliveredTo(retraction, 1);
    expect([...withdrawn].sort()).toEqual([...received].sort());
    expect(withdrawn.has(lateComer)).toBe(false);

    // And each peer really got one more message (a delivery is recorded after the peer took it).
    expect(smtp.mails.filter((m) => m.to.includes(address))).toHaveLength(before.mails + 1);
    expect(slack.calls.filter((c) => c.method === 'chat.postMessage' && c.args.channel === channel)).toHaveLength(before.posts + 1);
    expect(mastodon.statuses.length).toBeGreaterThan(before.statuses);
    const hooked = webhooks.requests.filter((r) => (JSON.parse(r.body) as { id: string }).id === retraction).map((r) => r.path);
    expect(hooked).toHaveLength(received.webhooks);

    const record = await tocsin.admin('GET', `/v1/advisories/${retraction}`);
    expect(record.status).toBe(200);
  });

  it('labels a retraction as its withdrawn advisory was labelled, so withdrawing AMBER is not announced as CLEAR', async () => {
    const id = uniqueId('WAMB');
    const partner = await hook({ tlp: 'AMBER' });
    await publish({ id, tlp: 'AMBER' });
    expect((await deliveredTo(id, 1)).has(partner)).toBe(true);
    const retraction = uniqueId('RAMB');
    await publish({ id: retraction, revision: 1, kind: 'retraction', retracts: id, title: `Withdrawn: ${id}`, summary: 'Duplicate of an earlier advisory.', published: '2026-12-02T10:00:00Z' });
    expect((await deliveredTo(retraction, 1)).has(partner)).toBe(true);
    const bodies = webhooks.requests.map((r) => JSON.parse(r.body) as { id: string; type: string; tlp: string }).filter((b) => b.id === retraction);
    expect(bodies.length).toBeGreaterThan(0);
    for (const body of bodies) expect(body).toMatchObject({ type: 'retraction.published', tlp: 'AMBER' });
    const record = await tocsin.admin('GET', `/v1/advisories/${retraction}`);
    expect(record.json).toMatchObject({ tlp: 'AMBER' });
  });
});
