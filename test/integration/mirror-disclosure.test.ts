import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { AdvisoryRecord, ArchivedAdvisory } from '../../src/advisory/record';
import { buildMirror, type BuildResult } from '../../src/mirror/build-mirror';
import { signDetached } from '../../src/pgp/detached';
import { createAdvisoryArchive, type AdvisoryArchive } from '../../src/storage/advisory-archive';
import { documentText, sampleAdvisory, uniqueId } from '../support/advisory-fixture';
import { csafConformance, unexpectedWarnings } from '../support/csaf-conformance';
import { eventually } from '../support/eventually';
import { createGpgPublisher, gpgVerify, type GpgPublisher } from '../support/gpg';
import { mirrorValidators, schemaErrors } from '../support/mirror-schemas';
import { mirrorKeys } from '../support/mirror-publish';
import { siteFiles } from '../support/site-tree';
import { startTocsin, type Tocsin } from '../support/tocsin-harness';

const BASE = 'https://advisories.example.org/acme';
const EMBARGO_END = '2026-12-20T12:00:00Z';
const BEFORE = new Date('2026-12-20T11:59:59.999Z');
const AFTER = new Date(EMBARGO_END);

/** A title and summary no other test uses, so that finding either anywhere is a leak. */
const secret = (what: string) => {
  const tag = randomBytes(4).toString('hex');
  return { title: `${what} title ${tag}`, summary: `${what} summary ${tag}` };
};

/**
 * The mirror shows only what the public may see (release/public-view.ts), by the clock it is
 * built with: CLEAR advisories whose embargo is over, the public revisions of one whose later
 * revision is embargoed, and withdrawn advisories struck through with their signed retraction.
 * Every file of the site is scanned for the titles, summaries and ids of everything else. The
 * archive entries are written directly, as the release step will write them, with times chosen
 * around one embargo's end.
 */
describe('the static mirror and coordinated disclosure', () => {
  let publisher: GpgPublisher;
  let tocsin: Tocsin;
  let archive: AdvisoryArchive;
  let original: ArchivedAdvisory;
  const validators = mirrorValidators();

  const hidden: Record<string, { id: string; title: string; summary: string }> = {};
  const ids = { clear: uniqueId('CLEAR'), partial: uniqueId('PARTIAL'), embargoed: uniqueId('EMB'), withdrawn: uniqueId('WD'), retraction: uniqueId('WD-R') };
  const partialLater = secret('embargoed second revision');
  const embargoed = secret('embargoed');
  const reason = 'The reported overflow is unreachable: the length is checked by the caller.';
  const retractionAccepted = '2026-12-03T09:30:00.000Z';

  /** Archives `fields` as an accepted revision, with the record the release step would write. */
  async function store(fields: Record<string, unknown>, accepted_at: string) {
    const doc = fields.kind === 'retraction' ? fields : sampleAdvisory(fields);
    const record: AdvisoryRecord = {
      ...original.record,
      id: String(doc.id),
      revision: Number(doc.revision ?? 1),
      kind: doc.kind as AdvisoryRecord['kind'],
      title: String(doc.title),
      accepted_at,
      ...(doc.tlp ? { tlp: doc.tlp as AdvisoryRecord['tlp'] } : {}),
      ...(doc.embargo_until ? { embargo_until: String(doc.embargo_until), audience: doc.audience as string[] } : {}),
      ...(doc.retracts ? { retracts: String(doc.retracts) } : {}),
    };
    const document = documentText(doc);
    const broadcasterSignature = await signDetached(Buffer.from(document), keys.broadcaster.privateKey);
    await archive.store({ record, document, publisherSignatures: [await publisher.sign(document)], broadcasterSignature }, {});
  }

  const build = (now: Date, dir: string) => buildMirror({ archive, ...keys, config: tocsin.config.mirror, outDir: path.join(tocsin.root, dir), now });
  let keys: Awaited<ReturnType<typeof mirrorKeys>>;
  let before: BuildResult;
  let after: BuildResult;

  /** Every file's path and text, joined: what a reader of the whole site could find. */
  async function wholeSite(dir: string): Promise<{ files: string[]; text: string }> {
    const root = path.join(tocsin.root, dir);
    const files = await siteFiles(root);
    const texts = await Promise.all(files.map((f) => readFile(path.join(root, f), 'utf8')));
    return { files, text: `${files.join('\n')}\n${texts.join('\n')}` };
  }

  beforeAll(async () => {
    publisher = await createGpgPublisher('sec@example.org');
    tocsin = await startTocsin({ publishers: [publisher.armoredPublicKey], workers: false, env: { TOCSIN_MIRROR_URL: `${BASE}/` } });
    keys = await mirrorKeys(tocsin);
    const document = documentText(sampleAdvisory({ id: ids.clear }));
    expect((await tocsin.call('POST', '/v1/advisories', { document, signatures: [await publisher.sign(document)] })).status).toBe(202);
    archive = createAdvisoryArchive(tocsin.config.dataDir);
    original = (await archive.get({ id: ids.clear, revision: 1 }))!;

    for (const tlp of ['GREEN', 'AMBER', 'AMBER+STRICT']) {
      hidden[tlp] = { id: uniqueId(tlp.replace('+', '-')), ...secret(tlp) };
      await store({ id: hidden[tlp].id, tlp, title: hidden[tlp].title, summary: hidden[tlp].summary }, '2026-12-02T10:00:00.000Z');
    }
    await store({ id: ids.embargoed, ...embargoed, embargo_until: EMBARGO_END, audience: ['distros'] }, '2026-12-02T10:01:00.000Z');
    // Public at once, then an update under embargo: the first stays public, the update waits.
    await store({ id: ids.partial, title: 'Public first revision' }, '2026-12-02T10:02:00.000Z');
    await store({ id: ids.partial, revision: 2, ...partialLater, embargo_until: EMBARGO_END, audience: ['distros'] }, '2026-12-02T10:03:00.000Z');
    // Withdrawn after it was public.
    await store({ id: ids.withdrawn, title: 'Heap overflow in acme-parser', severity: 'high' }, '2026-12-02T10:04:00.000Z');
    await store(
      { id: ids.retraction, revision: 1, kind: 'retraction', retracts: ids.withdrawn, title: 'Withdrawn: not a vulnerability', summary: reason, published: '2026-12-03T09:00:00Z' },
      retractionAccepted,
    );
    // Retractions of what the public never saw: an AMBER advisory, and one withdrawn during its embargo.
    hidden.amberRetraction = { id: uniqueId('AMBER-R'), ...secret('retraction of an AMBER advisory') };
    await store({ id: hidden.amberRetraction.id, revision: 1, kind: 'retraction', retracts: hidden.AMBER!.id, title: hidden.amberRetraction.title, summary: hidden.amberRetraction.summary, published: '2026-12-03T09:00:00Z' }, '2026-12-03T09:31:00.000Z');
    hidden.withdrawnInEmbargo = { id: uniqueId('EMB-WD'), ...secret('withdrawn during its embargo') };
    await store({ id: hidden.withdrawnInEmbargo.id, title: hidden.withdrawnInEmbargo.title, summary: hidden.withdrawnInEmbargo.summary, embargo_until: EMBARGO_END, audience: ['distros'] }, '2026-12-02T10:05:00.000Z');
    hidden.embargoRetraction = { id: uniqueId('EMB-WD-R'), ...secret('retraction during an embargo') };
    await store({ id: hidden.embargoRetraction.id, revision: 1, kind: 'retraction', retracts: hidden.withdrawnInEmbargo.id, title: hidden.embargoRetraction.title, summary: hidden.embargoRetraction.summary, published: '2026-12-03T09:00:00Z' }, '2026-12-03T09:32:00.000Z');
    // One site a millisecond before the embargo's end, one at it.
    before = await build(BEFORE, 'before');
    after = await build(AFTER, 'after');
  });
  afterAll(async () => {
    await tocsin?.close();
    await publisher?.dispose();
  });

  it('shows nothing of a GREEN, AMBER, AMBER+STRICT or embargoed advisory, nor of a later revision under embargo, until the embargo ends', async () => {
    expect(before).toMatchObject({ skipped: [], nextChange: '2026-12-20T12:00:00.000Z' });
    const { files, text } = await wholeSite('before');
    for (const leak of [...Object.values(hidden).flatMap((h) => [h.id, h.title, h.summary]), ids.embargoed, embargoed.title, embargoed.summary, partialLater.title, partialLater.summary]) {
      expect({ leak, found: text.includes(leak) }).toEqual({ leak, found: false });
    }
    // The public revision of the advisory whose update is embargoed stays, and only it.
    expect(files).toContain(`advisories/${ids.partial}/1/${ids.partial}.json`);
    expect(files.filter((f) => f.startsWith(`advisories/${ids.partial}/2/`))).toEqual([]);
    const csaf = JSON.parse(await readFile(path.join(tocsin.root, 'before', `.well-known/csaf/white/2026/${ids.partial.toLowerCase()}.json`), 'utf8'));
    expect(csaf.document.tracking).toMatchObject({ version: '1', current_release_date: '2026-12-02T10:02:00.000Z' });
    const index = await readFile(path.join(tocsin.root, 'before', 'index.html'), 'utf8');
    expect(index).toContain(`id="${ids.clear}"`);
    expect(index).toContain('Advisories (3)');
  });

  it('shows the embargoed advisory and the embargoed update from the embargo\'s end, and never what was withdrawn during the embargo', async () => {
    expect(after).toMatchObject({ advisories: 4, skipped: [] });
    expect(after.nextChange).toBeUndefined();
    const { files, text } = await wholeSite('after');
    for (const shown of [ids.embargoed, embargoed.title, partialLater.title]) expect({ shown, found: text.includes(shown) }).toEqual({ shown, found: true });
    for (const leak of Object.values(hidden).flatMap((h) => [h.id, h.title, h.summary])) expect({ leak, found: text.includes(leak) }).toEqual({ leak, found: false });
    expect(files).toEqual(expect.arrayContaining([`advisories/${ids.embargoed}/1/${ids.embargoed}.json`, `osv/${ids.embargoed}.json`, `advisories/${ids.partial}/2/${ids.partial}.json`]));
    for (const f of files.filter((p) => /^\.well-known\/csaf\/white\/\d{4}\/[^/]+\.json$/.test(p))) {
      const csaf = JSON.parse(await readFile(path.join(tocsin.root, 'after', f), 'utf8'));
      expect({ f, label: csaf.document.distribution.tlp }).toEqual({ f, label: { label: 'WHITE', url: 'https://www.first.org/tlp/' } });
    }
  });

  it('keeps a withdrawn advisory in the index, struck through, with the reason and the signed retraction beside it', async () => {
    const root = path.join(tocsin.root, 'after');
    const files = await siteFiles(root);
    const index = await readFile(path.join(root, 'index.html'), 'utf8');
    const article = /<article id="([^"]+)" class="withdrawn">[\s\S]*?<\/article>/.exec(index)!;
    expect(article[1]).toBe(ids.withdrawn);
    expect(article[0]).toContain('<del>Heap overflow in acme-parser</del>');
    expect(article[0]).toContain(reason);
    const retractionDoc = `advisories/${ids.retraction}/1/${ids.retraction}.json`;
    for (const href of [retractionDoc, `${retractionDoc}.asc`, `${retractionDoc}.publisher-1.asc`]) {
      expect(article[0]).toContain(`href="${href}"`);
      expect(files).toContain(href);
    }
    // The retraction is a signed document of its own, with its own article.
    expect(index).toContain(`<article id="${ids.retraction}" class="retraction">`);
    const bytes = await readFile(path.join(root, retractionDoc));
    expect(await gpgVerify(tocsin.api.broadcaster.armoredPublicKey, bytes, await readFile(path.join(root, `${retractionDoc}.asc`), 'utf8'))).toMatchObject({ ok: true });
    expect(await gpgVerify(publisher.armoredPublicKey, bytes, await readFile(path.join(root, `${retractionDoc}.publisher-1.asc`), 'utf8'))).toMatchObject({ ok: true });
    // Every relative link of the index points at a file in the site.
    for (const [, href] of index.matchAll(/href="([^"#]+)"/g)) if (!/^https?:/.test(href!)) expect(files).toContain(href);
  });

  it('marks the withdrawn advisory in OSV (withdrawn), CSAF (a last revision saying so) and the feeds, all still valid', async () => {
    const root = path.join(tocsin.root, 'after');
    const read = (f: string) => readFile(path.join(root, f), 'utf8');
    const osv = JSON.parse(await read(`osv/${ids.withdrawn}.json`));
    expect(validators.osv(osv) ? '' : schemaErrors(validators.osv)).toBe('');
    expect(osv).toMatchObject({ withdrawn: retractionAccepted, modified: retractionAccepted, summary: 'WITHDRAWN: Heap overflow in acme-parser' });
    expect(osv.details.startsWith(`Withdrawn by its publishers: ${reason}`)).toBe(true);

    const csafFile = `.well-known/csaf/white/2026/${ids.withdrawn.toLowerCase()}.json`;
    const csaf = JSON.parse(await read(csafFile));
    expect(validators.csaf(csaf) ? '' : schemaErrors(validators.csaf)).toBe('');
    const { errors, warnings } = await csafConformance(csaf);
    expect(errors).toEqual([]);
    expect(unexpectedWarnings(warnings)).toEqual([]);
    expect(csaf.document.title).toBe('WITHDRAWN: Heap overflow in acme-parser');
    expect(csaf.document.tracking).toMatchObject({ status: 'final', version: '2', current_release_date: retractionAccepted });
    expect(csaf.document.tracking.revision_history[1]).toMatchObject({ number: '2', date: retractionAccepted, summary: expect.stringContaining(`${ids.retraction} revision 1`) });
    expect(csaf.document.notes).toContainEqual({ category: 'description', title: 'Reasoning for Withdrawal', text: reason });

    const changes = await read('.well-known/csaf/white/changes.csv');
    expect(changes).toContain(`"2026/${ids.withdrawn.toLowerCase()}.json","${retractionAccepted}"`);
    const rolie = JSON.parse(await read('.well-known/csaf/white/feed-tlp-white.json'));
    expect(rolie.feed.entry.find((e: { id: string }) => e.id === ids.withdrawn)).toMatchObject({ title: 'WITHDRAWN: Heap overflow in acme-parser', updated: retractionAccepted });
    const atom = await read('feed.atom');
    expect(atom).toContain(`<id>${BASE}/advisories/${ids.retraction}/1/</id>`);
    expect(atom).toContain(`<title>[WITHDRAWN] ${ids.withdrawn}: Heap overflow in acme-parser</title>`);
  });
});

/**
 * The running API's mirror shows an embargoed advisory at the embargo's end with nobody acting:
 * the build before it says when the view next changes, and the rebuilder builds again then.
 */
describe('the running mirror at an embargo\'s end', () => {
  let publisher: GpgPublisher;
  let tocsin: Tocsin;

  beforeAll(async () => {
    publisher = await createGpgPublisher('sec@example.org');
    tocsin = await startTocsin({ publishers: [publisher.armoredPublicKey], workers: false, env: { TOCSIN_MIRROR_URL: `${BASE}/` } });
  });
  afterAll(async () => {
    await tocsin?.close();
    await publisher?.dispose();
  });

  it('appears within 5 seconds of the embargo\'s end, and not before', async () => {
    const cover = uniqueId('COVER');
    const document = documentText(sampleAdvisory({ id: cover }));
    expect((await tocsin.call('POST', '/v1/advisories', { document, signatures: [await publisher.sign(document)] })).status).toBe(202);
    const archive = createAdvisoryArchive(tocsin.config.dataDir);
    const original = (await archive.get({ id: cover, revision: 1 }))!;
    const id = uniqueId('RELEASE');
    const { title } = secret('released by the clock');
    const embargoEnd = new Date(Date.now() + 2_000);
    const embargoed = documentText(sampleAdvisory({ id, title, embargo_until: embargoEnd.toISOString(), audience: ['distros'] }));
    const record: AdvisoryRecord = { ...original.record, id, title, accepted_at: new Date().toISOString(), embargo_until: embargoEnd.toISOString(), audience: ['distros'] };
    await archive.store({ ...original, record, document: embargoed }, {});
    tocsin.api.mirror!.schedule();
    await tocsin.api.mirror!.idle();
    const index = () => readFile(path.join(tocsin.config.mirror.dir, 'index.html'), 'utf8');
    expect(await index()).toContain(`id="${cover}"`);
    expect(await index()).not.toContain(title);
    const shown = await eventually(async () => (await index()).includes(title) && Date.now(), 10_000, 'the embargoed advisory in the mirror');
    expect(shown).toBeGreaterThanOrEqual(embargoEnd.getTime());
    expect(shown - embargoEnd.getTime()).toBeLessThan(5_000);
  });
});
