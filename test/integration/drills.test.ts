import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { documentText, sampleAdvisory, uniqueId } from '../support/advisory-fixture';
import { eventually } from '../support/eventually';
import { startFakeMastodon, type FakeMastodon } from '../support/fake-mastodon';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack';
import { createGpgPublisher, type GpgPublisher } from '../support/gpg';
import { readHeaders } from '../support/mime-reader';
import { siteFiles } from '../support/site-tree';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink';
import { startTocsin, ADMIN_TOKEN, type Tocsin } from '../support/tocsin-harness';
import { startReceiver, type Receiver } from '../support/webhook-receiver';

const MASTODON_TOKEN = 'good-token-0123456789';
const DRILL_MARK = '[DRILL] No action needed';

/**
 * Drills through the running service: a drill goes the whole path (rendered, signed, queued,
 * delivered) to every recipient whatever its filters say, or to the channels and group it names;
 * nobody can mistake its notices for an advisory's; and it never shows anywhere public.
 */
describe('drills', () => {
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
      env: { TOCSIN_SMTP_URLS: smtp.url, TOCSIN_MAIL_FROM: 'ACME Security <security@acme.example>', TOCSIN_MIRROR_URL: 'https://advisories.acme.example/' },
    });
  });
  afterAll(async () => {
    await tocsin?.close();
    await Promise.all([webhooks?.close(), mastodon?.close(), slack?.close(), smtp?.close()]);
    await publisher?.dispose();
  });

  async function enrol(body: Record<string, unknown>): Promise<string> {
    const r = await tocsin.admin('POST', '/v1/recipients', body);
    expect({ status: r.status, body: r.json }).toMatchObject({ status: 201 });
    return r.json.id as string;
  }
  const hook = (extra: Record<string, unknown> = {}) => enrol({ type: 'webhook', url: webhooks.url(`/${uniqueId('H')}`), ...extra });

  /** Once every delivery of the drill is delivered: recipient ids. */
  const deliveredTo = (id: string) =>
    eventually(async () => {
      const r = await tocsin.admin('GET', `/v1/advisories/${id}/deliveries?revision=1`);
      const ds = r.json.deliveries as { recipient: string; state: string }[];
      if (ds.some((d) => d.state !== 'delivered')) return undefined;
      return new Set(ds.map((d) => d.recipient));
    }, 20_000, `${id} delivered`);

  it('POST /v1/drills reaches every recipient on all four channels, filters ignored, and says DRILL first on each', async () => {
    const address = `${uniqueId('ops').toLowerCase()}@example.org`;
    const channel = `C${Date.now()}`;
    const recipients = {
      webhook: await hook(),
      // A drill tests reach: a filter that no drill could match does not keep it away.
      filtered: await hook({ filter: { products: ['acme-widget'], min_severity: 'critical', kinds: ['mitigation'] } }),
      email: await enrol({ type: 'email', address }),
      slack: await enrol({ type: 'slack', channel_id: channel, token: 'xoxb-drill-0000', api_url: slack.apiUrl }),
      mastodon: await enrol({ type: 'mastodon', instance_url: mastodon.url, access_token: MASTODON_TOKEN }),
    };

    const r = await tocsin.admin('POST', '/v1/drills', {});
    expect(r.status).toBe(202);
    const id = r.json.id as string;
    expect(id).toMatch(/^drill_[0-9a-f]{24}$/);

    const reached = await deliveredTo(id);
    expect(Object.values(recipients).every((x) => reached.has(x))).toBe(true);

    const hooked = webhooks.requests.filter((q) => (JSON.parse(q.body) as { id: string }).id === id).map((q) => JSON.parse(q.body) as Record<string, unknown>);
    expect(hooked).toHaveLength(2);
    expect(hooked[0]).toMatchObject({ type: 'drill.published', kind: 'drill', tlp: 'CLEAR', publisher_signatures: [] });
    expect(hooked[0]).not.toHaveProperty('severity');

    const mail = smtp.mails.find((m) => m.to.includes(address))!;
    const raw = mail.raw.toString('utf8');
    expect(readHeaders(raw).get('subject')).toMatch(/^\[DRILL\] No action needed /);
    // The text part's first line, inside the signature.
    const textPart = raw.slice(raw.indexOf('Content-Type: text/plain'));
    expect(textPart.slice(textPart.indexOf('\r\n\r\n') + 4).split('\r\n')[0]).toBe(DRILL_MARK);

    const post = slack.calls.find((c) => c.method === 'chat.postMessage' && c.args.channel === channel)!;
    expect(String(post.args.text)).toMatch(/^DRILL/);

    const statuses = mastodon.statuses.filter((s) => s.spoiler_text === 'DRILL');
    expect(statuses.length).toBeGreaterThan(0);
  });

  it('a drill naming channels and a group reaches only those recipients', async () => {
    const inGroupHook = await hook({ groups: ['drill-ops'] });
    const outOfGroupHook = await hook();
    const inGroupMail = await enrol({ type: 'email', address: `${uniqueId('g').toLowerCase()}@example.org`, groups: ['drill-ops'] });

    const r = await tocsin.admin('POST', '/v1/drills', { channels: ['webhook'], group: 'drill-ops' });
    expect(r.status).toBe(202);
    const reached = await deliveredTo(r.json.id as string);
    expect([...reached]).toEqual([inGroupHook]);
    expect(reached.has(outOfGroupHook) || reached.has(inGroupMail)).toBe(false);
  });

  it('refuses a bad request naming the field, and anyone without the admin token', async () => {
    const bad = await tocsin.admin('POST', '/v1/drills', { channels: ['fax'] });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.json)).toContain('channels.0');
    const unknown = await tocsin.admin('POST', '/v1/drills', { channel: ['webhook'] });
    expect(unknown.status).toBe(400);
    const anonymous = await tocsin.call('POST', '/v1/drills', {});
    expect(anonymous.status).toBe(401);
    const wrong = await tocsin.call('POST', '/v1/drills', {}, { authorization: `Bearer ${ADMIN_TOKEN}x` });
    expect(wrong.status).toBe(401);
  });

  it('a publisher-signed drill document goes through intake and out as a drill', async () => {
    const id = uniqueId('PUBDRILL');
    const document = documentText({ id, revision: 1, kind: 'drill', title: 'Publisher drill', summary: 'Rehearsing the signing side.', published: '2026-12-02T10:00:00Z', channels: ['webhook'] });
    const r = await tocsin.call('POST', '/v1/advisories', { document, signatures: [await publisher.sign(document)] });
    expect(r.status).toBe(202);
    expect(r.json).toMatchObject({ kind: 'drill' });
    expect(r.json).not.toHaveProperty('tlp');
    await deliveredTo(id);
    const body = webhooks.requests.map((q) => JSON.parse(q.body) as Record<string, unknown>).find((b) => b.id === id)!;
    expect(body).toMatchObject({ type: 'drill.published', document, publisher_fingerprints: [publisher.fingerprint] });

    // Strict like every document: a severity on a drill is refused, naming the field.
    const wrong = documentText({ id: uniqueId('PUBDRILL'), revision: 1, kind: 'drill', title: 'x', summary: 'y', published: '2026-12-02T10:00:00Z', severity: 'critical' });
    const refused = await tocsin.call('POST', '/v1/advisories', { document: wrong, signatures: [await publisher.sign(wrong)] });
    expect(refused.status).toBe(400);
    expect(refused.text).toContain('document');
  });

  it('never shows a drill in public reads, the mirror (index, CSAF, OSV, Atom) or the advisory metrics', async () => {
    const drill = await tocsin.admin('POST', '/v1/drills', { channels: ['webhook'] });
    const id = drill.json.id as string;
    const signed = uniqueId('PUBDRILL');
    const signedDoc = documentText({ id: signed, revision: 1, kind: 'drill', title: 'Signed drill', summary: 'Rehearsal.', published: '2026-12-02T10:00:00Z' });
    expect((await tocsin.call('POST', '/v1/advisories', { document: signedDoc, signatures: [await publisher.sign(signedDoc)] })).status).toBe(202);
    // A real advisory after them: once it is in the mirror, the mirror was built after the drills.
    const real = uniqueId('REAL');
    const document = documentText(sampleAdvisory({ id: real }));
    expect((await tocsin.call('POST', '/v1/advisories', { document, signatures: [await publisher.sign(document)] })).status).toBe(202);
    const dir = tocsin.config.mirror.dir;
    await eventually(async () => (await readFile(path.join(dir, 'index.html'), 'utf8').catch(() => '')).includes(real), 20_000, 'the real advisory in the mirror');

    const files = await siteFiles(dir);
    const text = (await Promise.all(files.map((f) => readFile(path.join(dir, f), 'utf8')))).join('\n');
    for (const hidden of [id, signed, 'drill.published', 'Signed drill']) {
      expect({ hidden, found: `${files.join('\n')}\n${text}`.includes(hidden) }).toEqual({ hidden, found: false });
    }
    expect(files.some((f) => f.endsWith('.atom'))).toBe(true);

    expect((await tocsin.call('GET', `/v1/advisories/${id}`)).status).toBe(404);
    expect((await tocsin.call('GET', `/v1/advisories/${signed}`)).status).toBe(404);
    const list = await tocsin.call('GET', '/v1/advisories');
    expect(JSON.stringify(list.json)).not.toContain(id);

    const metrics = await tocsin.call('GET', '/metrics');
    expect(metrics.text).not.toContain('kind="drill"');
    expect(metrics.text).not.toContain(id);
  });
});
