import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { documentText, sampleAdvisory, uniqueId } from '../support/advisory-fixture';
import { eventually } from '../support/eventually';
import { startFakeMastodon, type FakeMastodon } from '../support/fake-mastodon';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack';
import { createGpgPublisher, gpgVerify, type GpgPublisher } from '../support/gpg';
import { readSignedMessage } from '../support/mime-reader';
import { siteFiles } from '../support/site-tree';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink';
import { startTocsin, ADMIN_TOKEN, type Tocsin } from '../support/tocsin-harness';
import { launchChromium } from '../support/verify-page-browser';
import { startReceiver, type Receiver } from '../support/webhook-receiver';

const MASTODON_TOKEN = 'good-token-0123456789';
const METRICS_TOKEN = 'metrics-token-for-status-0123';
const BASE = 'https://status.example.org/acme';

/** A status update document; override any field. The id is the incident's slug. */
function statusUpdate(incident: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: incident,
    revision: 1,
    kind: 'status',
    incident,
    state: 'investigating',
    title: 'Mail relay refuses connections',
    summary: 'Notices by email are delayed; webhooks, Slack and Mastodon are not affected.',
    published: '2026-12-02T10:00:00Z',
    affected_services: ['mail relay'],
    next_update_by: '2099-12-02T11:00:00Z',
    ...overrides,
  };
}

const slug = (prefix: string) => uniqueId(prefix).toLowerCase();

/**
 * Incident status (kind `status`) through the running service: intake checks its fields, every
 * channel delivers it marked with its state to everyone but those whose filter's kinds leave it
 * out, and the mirror shows it on status.html, status.json and status.atom, never as an advisory.
 */
describe('incident status', () => {
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
      env: { TOCSIN_SMTP_URLS: smtp.url, TOCSIN_MAIL_FROM: 'ACME Security <security@acme.example>', TOCSIN_MIRROR_URL: `${BASE}/`, TOCSIN_METRICS_TOKEN: METRICS_TOKEN },
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

  async function submit(doc: Record<string, unknown>) {
    const document = documentText(doc);
    return tocsin.call('POST', '/v1/advisories', { document, signatures: [await publisher.sign(document)] });
  }

  /** Once every delivery of the revision is delivered: the recipient ids. */
  const deliveredTo = (id: string, revision: number) =>
    eventually(async () => {
      const r = await tocsin.admin('GET', `/v1/advisories/${id}/deliveries?revision=${revision}`);
      const ds = r.json.deliveries as { recipient: string; state: string }[];
      if (ds.length === 0 || ds.some((d) => d.state !== 'delivered')) return undefined;
      return new Set(ds.map((d) => d.recipient));
    }, 20_000, `${id} r${revision} delivered`);

  it('refuses a malformed status update with a 400 naming the field', async () => {
    const incident = slug('bad');
    const cases: [Record<string, unknown>, string][] = [
      [statusUpdate(incident, { id: `${incident}-other` }), 'document.id'],
      [statusUpdate(incident, { state: 'panicking' }), 'document.state'],
      [statusUpdate(incident, { next_update_by: 'soon' }), 'document.next_update_by'],
      [statusUpdate(incident, { state: 'resolved' }), 'document.next_update_by'],
      [statusUpdate(incident, { incident: 'Not A Slug', id: 'Not-A-Slug' }), 'document.incident'],
      [statusUpdate(incident, { title: '' }), 'document.title'],
      [statusUpdate(incident, { affected_services: [] }), 'document.affected_services'],
      // Status updates are always public: no label, no embargo, no severity to set.
      [statusUpdate(incident, { tlp: 'AMBER' }), 'document.tlp'],
      [statusUpdate(incident, { severity: 'critical' }), 'document.severity'],
    ];
    for (const [doc, field] of cases) {
      const r = await submit(doc);
      expect({ doc, status: r.status }).toEqual({ doc, status: 400 });
      const fields = (r.json.error.fields as { field: string; message: string }[]).map((f) => f.field);
      expect({ doc, fields }).toEqual({ doc, fields: expect.arrayContaining([field]) });
    }
  });

  it('keeps an incident and an advisory apart: neither takes a revision under the other\'s id', async () => {
    const incident = slug('apart');
    expect((await submit(statusUpdate(incident))).status).toBe(202);
    const advisory = await submit(sampleAdvisory({ id: incident, revision: 2 }));
    expect(advisory.status).toBe(400);
    expect(advisory.json.error.fields).toContainEqual({ field: 'document.kind', message: expect.stringContaining("an incident's status") });

    const advisoryAsSlug = uniqueId('adv').toLowerCase();
    expect((await submit(sampleAdvisory({ id: advisoryAsSlug }))).status).toBe(202);
    const status = await submit(statusUpdate(advisoryAsSlug, { revision: 2 }));
    expect(status.status).toBe(400);
    expect(status.json.error.fields).toContainEqual({ field: 'document.kind', message: expect.stringContaining(`${advisoryAsSlug} is an advisory`) });
  });

  it('goes out on all four channels marked with its state, except to recipients whose kinds leave status out', async () => {
    const incident = slug('relay');
    const address = `${uniqueId('ops').toLowerCase()}@example.org`;
    const channel = `C${Date.now()}`;
    const told = {
      webhook: await hook(),
      // Severity and products do not apply to a status update: only kinds can leave it out.
      criticalOnly: await hook({ filter: { min_severity: 'critical', products: ['acme-server'] } }),
      statusOnly: await hook({ filter: { kinds: ['status'] } }),
      email: await enrol({ type: 'email', address }),
      slack: await enrol({ type: 'slack', channel_id: channel, token: 'xoxb-status-0000', api_url: slack.apiUrl }),
      mastodon: await enrol({ type: 'mastodon', instance_url: mastodon.url, access_token: MASTODON_TOKEN }),
    };
    const optedOut = await hook({ filter: { kinds: ['advisory', 'mitigation'] } });

    expect((await submit(statusUpdate(incident, { state: 'identified' }))).status).toBe(202);
    const received = await deliveredTo(incident, 1);
    expect(Object.fromEntries(Object.entries(told).map(([k, r]) => [k, received.has(r)]))).toEqual(Object.fromEntries(Object.keys(told).map((k) => [k, true])));
    expect(received.has(optedOut)).toBe(false);

    const body = JSON.parse(webhooks.requests.find((r) => (JSON.parse(r.body) as { id: string }).id === incident)!.body);
    expect(body).toMatchObject({ type: 'status.published', kind: 'status', id: incident, incident, state: 'identified', tlp: 'CLEAR', revision: 1 });
    expect(body).not.toHaveProperty('severity');

    const mail = smtp.mails.find((m) => m.to.includes(address))!;
    const message = readSignedMessage(mail.raw);
    expect(message.headers.get('subject')).toContain('[STATUS: identified]');
    expect(message.signedPart.toString('utf8')).toContain('STATUS: identified');

    const post = slack.calls.find((c) => c.method === 'chat.postMessage' && c.args.channel === channel)!;
    expect(post.args.text).toContain('[STATUS: identified]');

    const status = await eventually(async () => mastodon.statuses.find((s) => s.spoiler_text.includes(incident)), 10_000, 'the Mastodon post');
    expect(status.spoiler_text).toMatch(/^STATUS identified: incident /);
  });

  it('builds status.html, status.json and status.atom: open first, escaped, signed, and gone from the banner once resolved', async () => {
    const open = slug('open');
    const hostile = '<script>alert(1)</script> & "quotes"';
    const advisory = uniqueId('ADV');
    expect((await submit(sampleAdvisory({ id: advisory }))).status).toBe(202);
    expect((await submit(statusUpdate(open, { title: hostile, published: '2026-12-02T10:00:00Z' }))).status).toBe(202);
    expect((await submit(statusUpdate(open, { revision: 2, state: 'identified', title: 'Relay password rotated by the provider', published: '2026-12-02T10:20:00Z' }))).status).toBe(202);

    const dir = tocsin.config.mirror.dir;
    const read = (f: string) => readFile(path.join(dir, f), 'utf8');
    const rebuild = async () => {
      tocsin.api.mirror!.schedule();
      await tocsin.api.mirror!.idle();
    };
    await rebuild();

    const index = await read('index.html');
    const banner = index.slice(0, index.indexOf('<h1>'));
    expect(banner).toContain('class="banner"');
    expect(banner).toContain(`status.html#${open}`);

    const page = await read('status.html');
    expect(page).not.toContain('<script');
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;');
    // Newest update first, with the next update promised.
    expect(page.indexOf('Relay password rotated')).toBeLessThan(page.indexOf('&lt;script&gt;'));
    expect(page).toContain('Next update promised by 2099-12-02T11:00:00Z');
    for (const revision of [1, 2]) {
      for (const file of [`advisories/${open}/${revision}/${open}.json`, `advisories/${open}/${revision}/${open}.json.asc`, `advisories/${open}/${revision}/${open}.json.publisher-1.asc`]) {
        expect(page).toContain(`href="${file}"`);
      }
    }

    // Each update verifies with gpg from the mirror's own files: tocsin's key and the publisher's.
    const broadcaster = await read('broadcaster.asc');
    for (const revision of [1, 2]) {
      const doc = await read(`advisories/${open}/${revision}/${open}.json`);
      expect((await gpgVerify(broadcaster, doc, await read(`advisories/${open}/${revision}/${open}.json.asc`))).ok).toBe(true);
      expect((await gpgVerify(publisher.armoredPublicKey, doc, await read(`advisories/${open}/${revision}/${open}.json.publisher-1.asc`))).ok).toBe(true);
    }

    const json = JSON.parse(await read('status.json'));
    const entry = json.incidents.find((i: { incident: string }) => i.incident === open);
    expect(json.open_incidents).toBeGreaterThanOrEqual(1);
    expect(entry).toMatchObject({ incident: open, state: 'identified', open: true, overdue: false, next_update_by: '2099-12-02T11:00:00Z', title: 'Relay password rotated by the provider' });
    expect(entry.updates.map((u: { revision: number }) => u.revision)).toEqual([2, 1]);
    expect(entry.updates[1]).toEqual({
      revision: 1,
      state: 'investigating',
      title: hostile,
      summary: expect.any(String),
      published: '2026-12-02T10:00:00Z',
      accepted_at: expect.any(String),
      affected_services: ['mail relay'],
      next_update_by: '2099-12-02T11:00:00Z',
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      document: `${BASE}/advisories/${open}/1/${open}.json`,
      signature: `${BASE}/advisories/${open}/1/${open}.json.asc`,
      publisher_signatures: [`${BASE}/advisories/${open}/1/${open}.json.publisher-1.asc`],
    });

    // Not an advisory: absent from index.html's advisories, feed.atom, CSAF and OSV.
    const site = await siteFiles(dir);
    expect(site.filter((f) => f.includes(open) && !f.startsWith(`advisories/${open}/`))).toEqual([]);
    expect(await read('feed.atom')).not.toContain(open);
    expect(index.slice(index.indexOf('<h1>'))).not.toContain(`id="${open}"`);
    expect(index).toContain(`id="${advisory}"`);
    const metrics = await tocsin.call('GET', '/metrics', undefined, { authorization: `Bearer ${METRICS_TOKEN}` });
    expect(metrics.text).toMatch(/tocsin_advisories_accepted_total\{kind="advisory"/);
    expect(metrics.text).not.toContain('kind="status"');

    // Resolved: the banner goes, and the incident moves below the open ones.
    const other = slug('other');
    expect((await submit(statusUpdate(other, { title: 'API slow', next_update_by: '2099-12-03T00:00:00Z' }))).status).toBe(202);
    expect((await submit(statusUpdate(open, { revision: 3, state: 'resolved', title: 'Mail relay restored', next_update_by: undefined, published: '2026-12-02T11:00:00Z' }))).status).toBe(202);
    await rebuild();
    const after = await read('status.html');
    expect(after.indexOf(`id="${other}"`)).toBeLessThan(after.indexOf('Resolved incidents'));
    expect(after.indexOf(`id="${open}"`)).toBeGreaterThan(after.indexOf('Resolved incidents'));
    expect((await read('index.html')).slice(0, (await read('index.html')).indexOf('<h1>'))).not.toContain(open);
    expect(JSON.parse(await read('status.json')).incidents.find((i: { incident: string }) => i.incident === open)).toMatchObject({ state: 'resolved', open: false, overdue: false });
    expect(JSON.parse(await read('status.json')).incidents.find((i: { incident: string }) => i.incident === open)).not.toHaveProperty('next_update_by');

    // status.atom: an XML parser (the browser's) reads it, one entry per update, newest first;
    // and status.html reads with JavaScript off.
    const atom = await read('status.atom');
    let browser: Browser | undefined;
    try {
      browser = await launchChromium();
      const tab = await browser.newPage();
      const parsed = (await tab.evaluate(`(() => {
        const doc = new DOMParser().parseFromString(${JSON.stringify(atom)}, 'application/xml');
        const ns = 'http://www.w3.org/2005/Atom';
        return {
          error: doc.getElementsByTagName('parsererror').length,
          root: doc.documentElement.namespaceURI + ' ' + doc.documentElement.localName,
          titles: [...doc.getElementsByTagNameNS(ns, 'entry')].map((e) => e.getElementsByTagNameNS(ns, 'title')[0].textContent),
          ids: [...doc.getElementsByTagNameNS(ns, 'entry')].map((e) => e.getElementsByTagNameNS(ns, 'id')[0].textContent),
        };
      })()`)) as { error: number; root: string; titles: string[]; ids: string[] };
      expect(parsed.error).toBe(0);
      expect(parsed.root).toBe('http://www.w3.org/2005/Atom feed');
      const mine = parsed.titles.filter((t) => t.includes(open));
      expect(mine).toEqual([`[RESOLVED] ${open}: Mail relay restored`, `[IDENTIFIED] ${open}: Relay password rotated by the provider`, `[INVESTIGATING] ${open}: ${hostile}`]);
      expect(parsed.ids).toContain(`${BASE}/advisories/${open}/3/`);
      await tab.close();

      const context = await browser.newContext({ javaScriptEnabled: false, offline: true });
      const noJs = await context.newPage();
      await noJs.goto(`file://${path.join(dir, 'status.html')}`);
      const text = await noJs.innerText('body');
      expect(text).toContain('Open incidents');
      expect(text).toContain('API slow');
      expect(text).toContain(hostile);
      await context.close();
    } finally {
      await browser?.close();
    }
  });

  it('says by itself, on the running mirror, that an update is overdue once the promise passes', async () => {
    const late = slug('late');
    const promise = new Date(Date.now() + 2_000);
    expect((await submit(statusUpdate(late, { next_update_by: promise.toISOString() }))).status).toBe(202);
    tocsin.api.mirror!.schedule();
    await tocsin.api.mirror!.idle();
    const page = () => readFile(path.join(tocsin.config.mirror.dir, 'status.html'), 'utf8');
    const article = async () => {
      const html = await page();
      const at = html.indexOf(`id="${late}"`);
      return at < 0 ? '' : html.slice(at, html.indexOf('</article>', at));
    };
    expect(await article()).toContain(`Next update promised by ${promise.toISOString()}`);
    const shown = await eventually(async () => (await article()).includes('Update overdue') && Date.now(), 10_000, 'the overdue notice');
    expect(shown).toBeGreaterThan(promise.getTime());
    expect(shown - promise.getTime()).toBeLessThan(5_000);
    const json = JSON.parse(await readFile(path.join(tocsin.config.mirror.dir, 'status.json'), 'utf8'));
    expect(json.incidents.find((i: { incident: string }) => i.incident === late)).toMatchObject({ overdue: true, open: true });

    // /readyz warns too (a warning: still 200), until the next update comes.
    const ready = await tocsin.call('GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.json.warnings.incident_updates).toContain(`${late} (update promised by ${promise.toISOString()})`);
    expect((await submit(statusUpdate(late, { revision: 2, state: 'monitoring', next_update_by: '2099-01-01T00:00:00Z' }))).status).toBe(202);
    expect((await tocsin.call('GET', '/readyz')).json.warnings.incident_updates ?? '').not.toContain(late);
  });
});

/**
 * A status update passes the two-person rule like any document, counted at severity `none`, the
 * lowest: under `all:2,low:3` it needs two publishers, where the least severe advisory needs three.
 */
describe('incident status and the two-person rule', () => {
  let alice: GpgPublisher;
  let bob: GpgPublisher;
  let tocsin: Tocsin;

  beforeAll(async () => {
    [alice, bob] = await Promise.all([createGpgPublisher('alice@example.org'), createGpgPublisher('bob@example.org')]);
    tocsin = await startTocsin({ publishers: [alice.armoredPublicKey, bob.armoredPublicKey], workers: false, env: { TOCSIN_REQUIRE_SIGNATURES: 'all:2,low:3' } });
  });
  afterAll(async () => {
    await tocsin?.close();
    await Promise.all([alice?.dispose(), bob?.dispose()]);
  });

  it('is held for a second publisher, and accepted with two', async () => {
    const incident = slug('two');
    const document = documentText(statusUpdate(incident));
    const held = await tocsin.call('POST', '/v1/advisories', { document, signatures: [await alice.sign(document)] });
    expect(held.status).toBe(202);
    expect(held.json).toMatchObject({ id: incident, status: 'awaiting_signatures', required: 2, missing: 1 });
    const done = await tocsin.call('POST', `/v1/advisories/${incident}/signatures`, { signatures: [await bob.sign(document)] });
    expect(done.json).toMatchObject({ id: incident, revision: 1, status: 'accepted', kind: 'status', severity: 'none' });
  });
});
