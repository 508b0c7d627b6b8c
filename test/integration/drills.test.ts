import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { documentText, sampleAdvisory, uniqueId } from '../support/advisory-fixture';
import { eventually } from '../support/eventually';
import { startFakeMastodon, type FakeMastodon } from '../support/fake-mastodon';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack';
import { createGpgPublisher, type GpgPublisher } from '../support/gpg';
import { readHeaders } from '../support/mime-reader';
import { launchChromium } from '../support/verify-page-browser';
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
    // A partner endpoint that moved away for good, and a mailbox the relay refuses.
    webhooks = await startReceiver((_n, req) => ({ status: req.path.startsWith('/dead') ? 410 : 204 }));
    mastodon = await startFakeMastodon({ maxCharacters: 20_000, tokens: [MASTODON_TOKEN] });
    slack = await startFakeSlack();
    smtp = await startSmtpSink({ onRcptTo: (address) => (address.startsWith('refused') ? { code: 550, message: 'no such mailbox' } : null) });
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
    // The text part's first line, inside the signature (after the unsigned note with the acknowledgement link).
    const textPart = raw.slice(raw.indexOf('Content-Type: text/plain', raw.indexOf('Content-Type: multipart/signed')));
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

  it('reports per channel the counts, the times from acceptance and each failure with the peer\'s answer, as JSON and as a page with a timeline', async () => {
    const group = uniqueId('rep').toLowerCase();
    const channel = `C${Date.now()}`;
    const live = [await hook({ groups: [group] }), await hook({ groups: [group] })];
    const dead = await enrol({ type: 'webhook', url: webhooks.url(`/dead-${uniqueId('H')}`), groups: [group] });
    const mailOk = await enrol({ type: 'email', address: `${uniqueId('ok').toLowerCase()}@example.org`, groups: [group] });
    const mailRefused = await enrol({ type: 'email', address: `refused-${uniqueId('r').toLowerCase()}@example.org`, groups: [group] });
    const slackOk = await enrol({ type: 'slack', channel_id: channel, token: 'xoxb-drill-0000', api_url: slack.apiUrl, groups: [group] });
    const toot = await enrol({ type: 'mastodon', instance_url: mastodon.url, access_token: MASTODON_TOKEN, groups: [group] });

    const started = await tocsin.admin('POST', '/v1/drills', { group });
    expect(started.status).toBe(202);
    const id = started.json.id as string;
    const report = await eventually(async () => {
      const r = await tocsin.admin('GET', `/v1/drills/${id}`);
      const channels = r.json.channels as Record<string, { retrying: number }>;
      return Object.values(channels).every((c) => c.retrying === 0) ? r.json : undefined;
    }, 20_000, 'the drill settled');

    expect(report).toMatchObject({ id, started_at: started.json.accepted_at });
    expect(report.channels.webhook).toMatchObject({ recipients: 3, delivered: 2, failed: 1, retrying: 0, failures: [{ recipient: dead, reason: '410' }] });
    expect(report.channels.email).toMatchObject({ recipients: 2, delivered: 1, failed: 1, failures: [{ recipient: mailRefused, reason: '550' }] });
    expect(report.channels.slack).toMatchObject({ recipients: 1, delivered: 1, failed: 0, failures: [] });
    expect(report.channels.mastodon).toMatchObject({ recipients: 1, delivered: 1, failed: 0 });
    const web = report.channels.webhook;
    expect(web.first_ms).toBeGreaterThanOrEqual(0);
    expect(web.first_ms).toBeLessThanOrEqual(web.p50_ms);
    expect(web.p50_ms).toBeLessThanOrEqual(web.p95_ms);
    expect(web.p95_ms).toBe(web.last_ms);
    expect(web.last_ms).toBeLessThan(20_000);
    expect(web.slowest.map((s: { recipient: string }) => s.recipient).sort()).toEqual([...live].sort());
    expect(web.slowest[0].ms).toBe(web.last_ms);
    expect(report.channels.email.slowest).toEqual([{ recipient: mailOk, ms: report.channels.email.last_ms }]);
    expect(report.channels.slack.slowest[0].recipient).toBe(slackOk);
    expect(report.channels.mastodon.slowest[0].recipient).toBe(toot);
    // A webhook acknowledges by its 2xx: the two live ones, not the dead one.
    expect(report.acks.webhook.map((a: { recipient: string }) => a.recipient).sort()).toEqual([...live].sort());

    expect((await tocsin.call('GET', `/v1/drills/${id}`)).status).toBe(401);
    expect((await tocsin.admin('GET', '/v1/drills/drill_000000000000000000000000')).status).toBe(404);
    // An advisory is not a drill: no report of it.
    const real = uniqueId('REAL');
    const document = documentText(sampleAdvisory({ id: real }));
    expect((await tocsin.call('POST', '/v1/advisories', { document, signatures: [await publisher.sign(document)] })).status).toBe(202);
    expect((await tocsin.admin('GET', `/v1/drills/${real}`)).status).toBe(404);

    const page = await tocsin.admin('GET', `/v1/drills/${id}/report.html`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(page.text).not.toMatch(/<script/i);
    expect(page.text).not.toMatch(/(src|href)="https?:/i);
    expect((await tocsin.call('GET', `/v1/drills/${id}/report.html`)).status).toBe(401);

    // Rendered by a real browser with scripts off: each channel's timeline is drawn, at its size.
    const browser = await launchChromium();
    try {
      const context = await browser.newContext({ javaScriptEnabled: false });
      const tab = await context.newPage();
      const requests: string[] = [];
      tab.on('request', (r) => requests.push(r.url()));
      await tab.setContent(page.text);
      for (const name of ['webhook', 'email', 'slack', 'mastodon']) {
        const svg = tab.locator(`svg#timeline-${name}`);
        expect(await svg.isVisible()).toBe(true);
        const box = (await svg.boundingBox())!;
        expect(box.width).toBeGreaterThanOrEqual(600);
        expect(box.height).toBeGreaterThanOrEqual(180);
        const shot = await svg.screenshot();
        expect(shot.length).toBeGreaterThan(1000);
      }
      expect(await tab.locator('svg#timeline-webhook path').getAttribute('d')).toMatch(/V [\d.]+ H [\d.]+ V/);
      expect(requests.filter((u) => !u.startsWith('about:') && !u.startsWith('data:'))).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
