import { createHash } from 'node:crypto';
import { lstat, readFile } from 'node:fs/promises';
import path from 'node:path';
import { buildMirror } from '../../src/mirror/build-mirror';
import { createAdvisoryArchive } from '../../src/storage/advisory-archive';
import { gpgVerify, runTool, sqVerify } from '../support/gpg';
import { useGpgPublisher } from '../support/use-gpg-publisher';
import { csafConformance, unexpectedWarnings } from '../support/csaf-conformance';
import { mirrorValidators, schemaErrors } from '../support/mirror-schemas';
import { mirrorKeys, publishSampleArchive } from '../support/mirror-publish';
import { siteDigest, siteFiles } from '../support/site-tree';
import { useTocsin } from '../support/use-tocsin';

const BASE = 'https://advisories.example.org/acme';

/**
 * The mirror a running tocsin keeps under TOCSIN_DATA_DIR/mirror, built from advisories accepted
 * through the real API, checked file by file with the official schemas, gpg, sq and sha*sum.
 */
describe('the static mirror', () => {
  const lead = useGpgPublisher('lead@example.org');
  const second = useGpgPublisher('second@example.org');
  const tocsin = useTocsin(() => ({
    publishers: [lead.armoredPublicKey, second.armoredPublicKey],
    workers: false,
    env: { TOCSIN_MIRROR_URL: `${BASE}/`, TOCSIN_CSAF_PUBLISHER_NAME: 'ACME Security' },
  }));
  let site: string;
  let files: string[];
  let ids: Awaited<ReturnType<typeof publishSampleArchive>>;
  const validators = mirrorValidators();
  const read = (rel: string) => readFile(path.join(site, rel), 'utf8');
  const readJson = async (rel: string) => JSON.parse(await read(rel)) as Record<string, any>;

  beforeAll(async () => {
    ids = await publishSampleArchive(tocsin, lead, second);
    await tocsin.api.mirror!.idle();
    site = tocsin.config.mirror.dir;
    files = await siteFiles(site);
  });

  it('is rebuilt after publishing, into TOCSIN_DATA_DIR/mirror, swapped in by a symlink', async () => {
    expect(site).toBe(path.join(tocsin.config.dataDir, 'mirror'));
    expect((await lstat(site)).isSymbolicLink()).toBe(true);
    const index = await read('index.html');
    for (const id of Object.values(ids)) expect(index).toContain(`id="${id}"`);
    // The correction is what the index shows; the first revision stays downloadable.
    expect(index).toContain('Remote code execution in acme-server (corrected)');
    expect(files).toContain(`advisories/${ids.first}/1/${ids.first}.json`);
    expect(files).toContain(`advisories/${ids.first}/2/${ids.first}.json`);
  });

  it('holds the exact signed documents, with tocsin\'s and the publishers\' signatures, all verified by gpg', async () => {
    const broadcaster = tocsin.api.broadcaster;
    const archive = createAdvisoryArchive(tocsin.config.dataDir);
    const asc = files.filter((f) => f.endsWith('.asc') && f.startsWith('advisories/'));
    expect(asc.length).toBe(4 /* tocsin's, one per revision */ + 5 /* publishers': 1 + 2 + 1 + 1 */);
    for (const sigFile of asc) {
      const publisherSig = /\.json\.publisher-(\d+)\.asc$/.exec(sigFile);
      const dataFile = publisherSig ? sigFile.replace(/\.publisher-\d+\.asc$/, '') : sigFile.replace(/\.asc$/, '');
      const data = await readFile(path.join(site, dataFile));
      const [, id, revision] = /^advisories\/([^/]+)\/(\d+)\//.exec(sigFile)!;
      const archived = (await archive.get({ id: id!, revision: Number(revision) }))!;
      expect(data.toString('utf8')).toBe(archived.document);
      if (publisherSig) {
        const verdict = await gpgVerify(`${lead.armoredPublicKey}\n${second.armoredPublicKey}`, data, await read(sigFile));
        expect(verdict.ok).toBe(true);
        expect(archived.record.publishers).toContain(verdict.fingerprint);
      } else {
        const verdict = await gpgVerify(broadcaster.armoredPublicKey, data, await read(sigFile));
        expect(verdict).toMatchObject({ ok: true, fingerprint: broadcaster.fingerprint });
      }
    }
    const twoSigners = files.filter((f) => f.startsWith(`advisories/${ids.second}/1/`) && f.includes('.publisher-'));
    expect(twoSigners).toHaveLength(2);
  });

  it('signs every CSAF, OSV and provider-metadata file with tocsin\'s key (gpg and sq agree)', async () => {
    const { armoredPublicKey, fingerprint } = tocsin.api.broadcaster;
    const signed = files.filter((f) => f.endsWith('.asc') && !f.startsWith('advisories/') && !f.startsWith('.well-known/csaf/openpgp/') && f !== 'broadcaster.asc');
    expect(signed.sort()).toEqual(
      [...files.filter((f) => /^\.well-known\/csaf\/white\/\d{4}\/[^/]+\.json$/.test(f) || /^osv\/[^/]+\.json$/.test(f)), '.well-known/csaf/provider-metadata.json']
        .map((f) => `${f}.asc`)
        .sort(),
    );
    for (const sigFile of signed) {
      const data = await readFile(path.join(site, sigFile.replace(/\.asc$/, '')));
      expect(await gpgVerify(armoredPublicKey, data, await read(sigFile))).toMatchObject({ ok: true, fingerprint });
      if (sigFile.includes('/white/')) expect((await sqVerify(armoredPublicKey, data, await read(sigFile))).ok).toBe(true);
    }
    // The key the provider metadata names is the key that signed.
    expect(await read(`.well-known/csaf/openpgp/${fingerprint}.asc`)).toBe(armoredPublicKey);
    expect(await read('broadcaster.asc')).toBe(armoredPublicKey);
  });

  it('has a matching .sha256 and .sha512 beside every signed document and CSAF file, as sha256sum -c reads them', async () => {
    const hashFiles = files.filter((f) => /\.sha(256|512)$/.test(f));
    expect(hashFiles.length).toBe(2 * (4 + 3 + 3));
    for (const hashFile of hashFiles) {
      const algorithm = hashFile.endsWith('.sha256') ? 'sha256' : 'sha512';
      const target = hashFile.replace(/\.sha(256|512)$/, '');
      const expected = createHash(algorithm).update(await readFile(path.join(site, target))).digest('hex');
      expect(await read(hashFile)).toBe(`${expected}  ${path.posix.basename(target)}\n`);
      const tool = await runTool('sh', ['-c', `cd "$1" && ${algorithm}sum -c "$2"`, 'sh', path.join(site, path.posix.dirname(hashFile)), path.posix.basename(hashFile)]);
      expect(tool).toMatchObject({ code: 0 });
    }
  });

  it('renders every advisory as CSAF 2.0 that validates against the official schema, laid out as a trusted provider', async () => {
    const csafFiles = files.filter((f) => /^\.well-known\/csaf\/white\/\d{4}\/[^/]+\.json$/.test(f));
    expect(csafFiles).toHaveLength(3);
    for (const f of csafFiles) {
      const csaf = await readJson(f);
      const valid = validators.csaf(csaf);
      expect(schemaErrors(validators.csaf)).toBe('');
      expect(valid).toBe(true);
      const trackingId = csaf.document.tracking.id as string;
      // CSAF's file name rule, and the year of the initial release.
      expect(path.posix.basename(f)).toBe(`${trackingId.toLowerCase().replace(/[^+\-a-z0-9]+/g, '_')}.json`);
      expect(f).toContain(`/${new Date(csaf.document.tracking.initial_release_date).getUTCFullYear()}/`);
      expect(csaf.document.category).toBe('csaf_security_advisory');
      expect(csaf.document.distribution.tlp.label).toBe('WHITE');
      expect(csaf.document.publisher).toEqual({ category: 'vendor', name: 'ACME Security', namespace: 'https://advisories.example.org' });
      expect(csaf.document.references[0]).toEqual({ category: 'self', summary: 'This CSAF document', url: `${BASE}/${f}` });
    }
    expect(csafFiles.some((f) => /\/acme_lib-[^/]+\.json$/.test(f))).toBe(true);

    const first = await readJson(csafFiles.find((f) => f.endsWith(`${ids.first.toLowerCase()}.json`))!);
    expect(first.document.tracking).toMatchObject({ id: ids.first, version: '2', status: 'final' });
    expect(first.document.tracking.revision_history.map((r: any) => r.number)).toEqual(['1', '2']);
    expect(first.document.aggregate_severity).toEqual({ text: 'critical' });
    expect(first.vulnerabilities[0].remediations).toContainEqual({ category: 'mitigation', details: 'Upgrade to 2.3.1.', product_ids: ['CSAFPID-1'] });

    const lib = await readJson(csafFiles.find((f) => /acme_lib/.test(f))!);
    expect(lib.vulnerabilities.map((v: any) => v.cve)).toEqual(['CVE-2026-22222', 'CVE-2026-22223']);
    expect(lib.vulnerabilities[0].scores[0].cvss_v3).toEqual({ version: '3.1', vectorString: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N', baseScore: 6.1, baseSeverity: 'MEDIUM' });
    expect(lib.vulnerabilities[0].product_status).toEqual({ known_affected: ['CSAFPID-1', 'CSAFPID-2'], fixed: ['CSAFPID-1-FIXED'] });
    expect(lib.product_tree.full_product_names[0]).toEqual({ name: 'acme-lib >=1.0.0 <1.4.2', product_id: 'CSAFPID-1', product_identification_helper: { purl: 'pkg:npm/%40acme/lib' } });
  });

  it('renders every advisory as CSAF that passes CSAF 2.0\'s mandatory tests and the strict schema (BSI validator)', async () => {
    const csafFiles = files.filter((f) => /^\.well-known\/csaf\/white\/\d{4}\/[^/]+\.json$/.test(f));
    expect(csafFiles).toHaveLength(3);
    for (const f of csafFiles) {
      const { errors, warnings } = await csafConformance(await readJson(f));
      expect({ f, errors }).toEqual({ f, errors: [] });
      expect({ f, warnings: unexpectedWarnings(warnings) }).toEqual({ f, warnings: [] });
    }
  });

  it('publishes provider-metadata.json, index.txt, changes.csv (newest first) and a ROLIE feed that agree with each other', async () => {
    const metadata = await readJson('.well-known/csaf/provider-metadata.json');
    expect(validators.provider(metadata)).toBe(true);
    expect(metadata).toMatchObject({
      canonical_url: `${BASE}/.well-known/csaf/provider-metadata.json`,
      role: 'csaf_trusted_provider',
      public_openpgp_keys: [{ fingerprint: tocsin.api.broadcaster.fingerprint, url: `${BASE}/.well-known/csaf/openpgp/${tocsin.api.broadcaster.fingerprint}.asc` }],
    });
    const csafFiles = files.filter((f) => /^\.well-known\/csaf\/white\/\d{4}\/[^/]+\.json$/.test(f)).map((f) => f.replace('.well-known/csaf/white/', ''));

    const index = (await read('.well-known/csaf/white/index.txt')).split('\n').filter(Boolean);
    expect(index).toEqual([...csafFiles].sort());

    const changes = (await read('.well-known/csaf/white/changes.csv')).split('\n').filter(Boolean).map((line) => /^"([^"]+)","([^"]+)"$/.exec(line)!.slice(1));
    expect(changes.map(([p]) => p).sort()).toEqual([...csafFiles].sort());
    const dates = changes.map(([, d]) => d!);
    expect(dates).toEqual([...dates].sort().reverse());
    for (const [p, date] of changes) {
      expect((await readJson(`.well-known/csaf/white/${p}`)).document.tracking.current_release_date).toBe(date);
    }
    // The correction of the first advisory was accepted after the second advisory: it leads.
    expect(changes[0]![0]).toContain(ids.note.toLowerCase());
    expect(changes[1]![0]).toContain(ids.first.toLowerCase());
    expect(metadata.last_updated).toBe(dates[0]);

    const rolie = await readJson('.well-known/csaf/white/feed-tlp-white.json');
    const feedUrl = metadata.distributions[0].rolie.feeds[0].url as string;
    expect(feedUrl).toBe(`${BASE}/.well-known/csaf/white/feed-tlp-white.json`);
    expect(rolie.feed.link).toContainEqual({ rel: 'self', href: feedUrl });
    expect(rolie.feed.entry.map((e: any) => e.updated)).toEqual(dates);
    for (const entry of rolie.feed.entry) {
      const self = entry.link.find((l: any) => l.rel === 'self').href as string;
      expect(files).toContain(self.replace(`${BASE}/`, ''));
      for (const l of entry.link) expect(files).toContain((l.href as string).replace(`${BASE}/`, ''));
      expect(entry.format).toEqual({ schema: 'https://docs.oasis-open.org/csaf/csaf/v2.0/csaf_json_schema.json', version: '2.0' });
    }
  });

  it('renders every advisory as OSV that validates against the official schema', async () => {
    const osvFiles = files.filter((f) => /^osv\/[^/]+\.json$/.test(f));
    expect(osvFiles).toHaveLength(3);
    for (const f of osvFiles) {
      const osv = await readJson(f);
      expect(validators.osv(osv) ? '' : schemaErrors(validators.osv)).toBe('');
    }
    const lib = await readJson(`osv/${ids.second}.json`);
    expect(lib).toMatchObject({ id: `x_${ids.second}`, aliases: ['CVE-2026-22222', 'CVE-2026-22223'], severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N' }] });
    expect(lib.affected[0]).toMatchObject({
      package: { ecosystem: 'npm', name: '@acme/lib', purl: 'pkg:npm/%40acme/lib' },
      ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '1.0.0' }, { fixed: '1.4.2' }] }],
    });
    // No purl, no ecosystem: the publisher's words are kept, nothing is guessed.
    expect(lib.affected[1]).toEqual({ database_specific: { product: 'acme-cli', versions: 'all 2.x releases' } });
    const first = await readJson(`osv/${ids.first}.json`);
    expect(first.published).toBe('2026-11-24T12:00:00.000Z');
    expect(first.details).toContain('Upgrade to 2.3.1.');
    const note = await readJson(`osv/${ids.note}.json`);
    expect(note).toMatchObject({ related: [`x_${ids.first}`], severity: [{ type: 'CVSS_V4' }] });
  });

  it('shows every advisory in index.html with no script: severity, mitigations, how to verify, the fingerprint', async () => {
    const index = await read('index.html');
    expect(index).not.toMatch(/<script/i);
    expect(index).toContain(tocsin.api.broadcaster.fingerprint.replace(/(.{4})(?!$)/g, '$1 '));
    expect(index).toContain('gpg --verify');
    expect(index).toContain('Path traversal in &lt;acme-lib&gt; &amp; friends');
    expect(index).not.toContain('<acme-lib>');
    expect(index).toContain('Disable the plugin loader: set plugins.enabled=false.');
    expect(index).toMatch(/class="sev sev-high">HIGH</);
    // Newest change first.
    expect(index.indexOf(`id="${ids.note}"`)).toBeLessThan(index.indexOf(`id="${ids.first}"`));
    expect(index.indexOf(`id="${ids.first}"`)).toBeLessThan(index.indexOf(`id="${ids.second}"`));
    // Every relative link points at a file in the site.
    for (const [, href] of index.matchAll(/href="([^"#]+)"/g)) {
      if (!/^https?:/.test(href!)) expect(files).toContain(href);
    }
  });

  it('rebuilds to identical bytes from the same archive', async () => {
    const before = await siteDigest(site);
    const result = await buildMirror({ archive: createAdvisoryArchive(tocsin.config.dataDir), ...(await mirrorKeys(tocsin)), config: tocsin.config.mirror, outDir: site });
    expect(result).toMatchObject({ advisories: 3, revisions: 4, skipped: [] });
    expect(await siteDigest(site)).toEqual(before);
  });

  it('is never seen half-built: a reader during rebuilds always finds a whole site', async () => {
    let stop = false;
    let reads = 0;
    const problems: string[] = [];
    const reader = (async () => {
      while (!stop) {
        try {
          const [index, metadata] = await Promise.all([read('index.html'), read('.well-known/csaf/provider-metadata.json')]);
          if (!index.endsWith('</html>\n')) problems.push('index.html cut short');
          JSON.parse(metadata);
          reads += 1;
        } catch (err) {
          problems.push((err as Error).message);
        }
        await new Promise((r) => setImmediate(r));
      }
    })();
    const archive = createAdvisoryArchive(tocsin.config.dataDir);
    const keys = await mirrorKeys(tocsin);
    for (let i = 0; i < 5; i += 1) {
      // A different base URL each time, so every rebuild really replaces every page.
      const config = { ...tocsin.config.mirror, baseUrl: `${BASE}/${i}` };
      await buildMirror({ archive, ...keys, config, outDir: site });
    }
    stop = true;
    await reader;
    expect(problems).toEqual([]);
    expect(reads).toBeGreaterThan(5);
    await buildMirror({ archive, ...keys, config: tocsin.config.mirror, outDir: site });
  });

  it('re-signs what changed when a new revision is accepted, and reuses nothing stale', async () => {
    const csafFile = files.find((f) => f.endsWith(`/${ids.second.toLowerCase().replace(/[^+\-a-z0-9]+/g, '_')}.json`))!;
    const before = await read(csafFile);
    const document = `${JSON.stringify({ ...JSON.parse((await createAdvisoryArchive(tocsin.config.dataDir).get({ id: ids.second, revision: 1 }))!.document), revision: 2, severity: 'critical' }, null, 2)}\n`;
    const answer = await tocsin.call('POST', '/v1/advisories', { document, signatures: [await lead.sign(document)] });
    expect(answer.status).toBe(202);
    await tocsin.api.mirror!.idle();
    const after = await readFile(path.join(site, csafFile));
    expect(after.toString('utf8')).not.toBe(before);
    // Intake takes revisions one higher at a time; archives with gaps are covered by mirror-mapping.test.ts.
    const csaf = JSON.parse(after.toString('utf8'));
    expect(csaf.document.tracking.version).toBe('2');
    expect(csaf.document.tracking.revision_history[1].summary).toContain(`${ids.second} revision 2,`);
    expect((await csafConformance(csaf)).errors).toEqual([]);
    const { armoredPublicKey, fingerprint } = tocsin.api.broadcaster;
    expect(await gpgVerify(armoredPublicKey, after, await read(`${csafFile}.asc`))).toMatchObject({ ok: true, fingerprint });
    const osv = await readFile(path.join(site, `osv/${ids.second}.json`));
    expect(await gpgVerify(armoredPublicKey, osv, await read(`osv/${ids.second}.json.asc`))).toMatchObject({ ok: true, fingerprint });
    expect(await read(`advisories/${ids.second}/2/${ids.second}.json`)).toBe(document);
  });
});
