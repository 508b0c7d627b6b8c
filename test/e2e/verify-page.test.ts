import * as openpgp from 'openpgp';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { documentText, sampleAdvisory, uniqueId } from '../support/advisory-fixture';
import { eventually } from '../support/eventually';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack';
import { useGpgPublisher } from '../support/use-gpg-publisher';
import { useTocsin } from '../support/use-tocsin';
import { launchChromium, oneCharChanged, openVerifyPage as openPage, verdictFor, type PageWatch } from '../support/verify-page-browser';
import { startReceiver, type Receiver } from '../support/webhook-receiver';

/**
 * verify.html from the mirror, opened from disk (file://) in headless Chromium with every
 * non-file request refused and recorded, fed real notices as partners received them.
 */
describe('verify.html in a browser', () => {
  const publisher = useGpgPublisher('sec@example.org');
  let partner: Receiver;
  let slack: FakeSlack;
  let browser: Browser;
  let id: string;
  let webhookBody: string;
  let slackNotice: string;
  let site: string;
  const watch: PageWatch = { offSite: [], errors: [] };

  // Hooks run in the order they are declared: the browser and the peers go before tocsin closes.
  afterAll(async () => {
    await browser?.close();
    await slack?.close();
    await partner?.close();
  });
  const tocsin = useTocsin(() => ({ publishers: [publisher.armoredPublicKey] }));
  beforeAll(async () => {
    partner = await startReceiver();
    slack = await startFakeSlack();
    await tocsin.addWebhook(partner.url());
    const enrolled = await tocsin.admin('POST', '/v1/recipients', { type: 'slack', channel_id: 'C0VERIFY1', token: 'xoxb-verify-page-0001', api_url: slack.apiUrl });
    expect(enrolled.status).toBe(201);

    id = uniqueId('PAGE');
    const document = documentText(sampleAdvisory({ id, title: 'Remote code execution in acme-server <2.3.1 & "friends"' }));
    const answer = await tocsin.call('POST', '/v1/advisories', { document, signatures: [await publisher.sign(document)] });
    expect(answer.status).toBe(202);
    await Promise.all([partner.waitFor(1), slack.waitFor(1)]);
    webhookBody = partner.requests[0]!.body;
    const message = (await slack.history('C0VERIFY1')).messages[0] as Record<string, any>;
    const pre = (message.blocks as any[]).find((b) => b.type === 'rich_text').elements[0];
    // What a reader copies out of Slack: the block's text, with Slack's three escapes undone.
    slackNotice = (pre.elements as any[]).map((e) => e.text as string).join('').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

    await tocsin.api.mirror!.idle();
    site = tocsin.config.mirror.dir;
    browser = await launchChromium();
  });

  const openVerifyPage = () => openPage(browser, site, watch);

  afterEach(() => {
    // The page makes no request beyond its own file, and nothing went wrong in it (CSP included).
    const [requests, errors] = [watch.offSite.splice(0), watch.errors.splice(0)];
    expect(requests).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('says valid for a webhook body as delivered, and invalid when one character of the document changes', async () => {
    const page = await openVerifyPage();
    const good = await verdictFor(page, webhookBody);
    expect(good.verdict).toBe('valid');
    expect(good.headline).toBe(`VALID — signed by the current broadcaster key ${tocsin.api.broadcaster.fingerprint}`);
    expect(good.details).toContain(`${id} revision 1: Remote code execution in acme-server <2.3.1 & "friends"`);
    expect(good.signed).toBe(JSON.parse(webhookBody).document);

    const body = JSON.parse(webhookBody) as { document: string };
    const forged = JSON.stringify({ ...body, document: oneCharChanged(body.document, 'Remote code execution') });
    const bad = await verdictFor(page, forged);
    expect(bad.verdict).toBe('invalid');
    expect(bad.signed).toBe('');
    await page.context().close();
  });

  it('says valid for a cleartext-signed notice copied from Slack, and invalid for a one-character change', async () => {
    const page = await openVerifyPage();
    const good = await verdictFor(page, `Copied from #security:\n\n${slackNotice}\n`);
    expect(good.verdict).toBe('valid');
    expect(good.details).toContain(`Advisory: ${id} revision 1`);
    expect(good.signed).toContain('Severity: CRITICAL');

    const bad = await verdictFor(page, oneCharChanged(slackNotice, 'Severity: CRITICAL'));
    expect(bad.verdict).toBe('invalid');
    await page.context().close();
  });

  it('checks a document from the mirror with its .asc, pasted or loaded from files, and refuses a publisher\'s signature', async () => {
    const dir = path.join(site, 'advisories', id, '1');
    const docFile = path.join(dir, `${id}.json`);
    const [doc, sig, publisherSig] = await Promise.all([readFile(docFile, 'utf8'), readFile(`${docFile}.asc`, 'utf8'), readFile(`${docFile}.publisher-1.asc`, 'utf8')]);
    const page = await openVerifyPage();
    expect((await verdictFor(page, doc, sig)).verdict).toBe('valid');
    expect((await verdictFor(page, oneCharChanged(doc, '"severity": "critical"'), sig)).verdict).toBe('invalid');
    // A good signature, but not by tocsin's key: the page trusts only the key it shows.
    expect((await verdictFor(page, doc, publisherSig)).verdict).toBe('invalid');
    // Tocsin's own good packet 300 times over: refused from its count, before 300 verifications.
    const packets = (await openpgp.unarmor(sig)).data as Uint8Array;
    const flood = openpgp.armor(openpgp.enums.armor.signature, Buffer.concat(Array.from({ length: 300 }, () => packets)));
    const flooded = await verdictFor(page, doc, flood);
    expect({ verdict: flooded.verdict, said: `${flooded.headline} ${flooded.details}` }).toMatchObject({ verdict: 'invalid', said: expect.stringContaining('holds 300 packets') });

    await page.fill('#notice', '');
    await page.fill('#signature', '');
    await page.setInputFiles('#notice-file', docFile);
    await page.setInputFiles('#signature-file', `${docFile}.asc`);
    // The page reads the chosen files asynchronously: wait until both boxes hold them.
    await eventually(async () => (await page.locator('#signature').inputValue()).includes('BEGIN PGP SIGNATURE') && (await page.locator('#notice').inputValue()) === doc, 10_000, 'files loaded');
    await page.click('#check');
    await page.waitForSelector('#verdict[data-verdict="valid"]', { state: 'attached' });
    await page.context().close();
  });

  it('says invalid, not valid, for text that holds no notice', async () => {
    const page = await openVerifyPage();
    const r = await verdictFor(page, 'hello, this is not signed');
    expect(r.verdict).toBe('invalid');
    expect(r.headline).toContain('nothing to check');
    await page.context().close();
  });

  it('serves an Atom feed that a browser\'s XML parser reads, with one entry per advisory', async () => {
    const atom = await readFile(path.join(site, 'feed.atom'), 'utf8');
    const page = await browser.newPage();
    // The browser's own XML parser (the test's TypeScript has no DOM types, hence a string).
    const parsed = (await page.evaluate(`(() => {
      const doc = new DOMParser().parseFromString(${JSON.stringify(atom)}, 'application/xml');
      const ns = 'http://www.w3.org/2005/Atom';
      return {
        error: doc.getElementsByTagName('parsererror').length,
        root: doc.documentElement.namespaceURI + ' ' + doc.documentElement.localName,
        entries: [...doc.getElementsByTagNameNS(ns, 'entry')].map((e) => ({
          title: e.getElementsByTagNameNS(ns, 'title')[0]?.textContent,
          id: e.getElementsByTagNameNS(ns, 'id')[0]?.textContent,
          links: [...e.getElementsByTagNameNS(ns, 'link')].map((l) => l.getAttribute('href')),
          summary: e.getElementsByTagNameNS(ns, 'summary')[0]?.textContent,
        })),
      };
    })()`)) as { error: number; root: string; entries: { title?: string; id?: string; links: string[]; summary?: string }[] };
    await page.close();
    expect(parsed.error).toBe(0);
    expect(parsed.root).toBe('http://www.w3.org/2005/Atom feed');
    expect(parsed.entries).toHaveLength(1);
    const entry = parsed.entries[0]!;
    expect(entry.title).toBe(`[CRITICAL] ${id} revision 1: Remote code execution in acme-server <2.3.1 & "friends"`);
    expect(entry.summary).toContain(tocsin.api.broadcaster.fingerprint);
    const base = tocsin.config.mirror.baseUrl;
    expect(entry.links).toContain(`${base}/advisories/${id}/1/${id}.json`);
  });
});
