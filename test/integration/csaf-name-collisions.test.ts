import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { buildMirror } from '../../src/mirror/build-mirror';
import { csafFileName } from '../../src/mirror/site-paths';
import { createAdvisoryArchive } from '../../src/storage/advisory-archive';
import { documentText, sampleAdvisory, uniqueId } from '../support/advisory-fixture';
import { useGpgPublisher } from '../support/use-gpg-publisher';
import { mirrorKeys } from '../support/mirror-publish';
import { siteFiles } from '../support/site-tree';
import { useTocsin } from '../support/use-tocsin';

/**
 * CSAF names an advisory's file by its lowercased id with every run of other characters made one
 * `_`: ids that differ only in case, or in `.` and `_`, share a file. One publisher must not be
 * able to take over another advisory's CSAF and OSV files by choosing such an id.
 */
describe('advisory ids that share a CSAF file name', () => {
  const alice = useGpgPublisher('alice@example.org');
  const bob = useGpgPublisher('bob@example.org');
  const tocsin = useTocsin(() => ({
    publishers: [alice.armoredPublicKey, bob.armoredPublicKey],
    workers: false,
    env: { TOCSIN_REQUIRE_SIGNATURES: 'critical:2', TOCSIN_MIRROR_URL: 'https://advisories.example.org/acme/' },
  }));

  async function submit(id: string, severity = 'high') {
    const document = documentText(sampleAdvisory({ id, severity }));
    return tocsin.call('POST', '/v1/advisories', { document, signatures: [await alice.sign(document)] });
  }

  it('refuses at intake an id whose CSAF file name an accepted or held advisory already has, naming it', async () => {
    const accepted = uniqueId('Acme.Lib');
    expect((await submit(accepted)).json.status).toBe('accepted');
    const held = uniqueId('Acme.Held');
    expect((await submit(held, 'critical')).json.status).toBe('awaiting_signatures');

    for (const [existing, id] of [
      [accepted, accepted.toLowerCase()],
      [accepted, accepted.toUpperCase()],
      [accepted, accepted.replace('.', '_')],
      [accepted, accepted.replace('.', '..')],
      [held, held.replace('.', '_').toLowerCase()],
    ] as const) {
      expect(csafFileName(id)).toBe(csafFileName(existing));
      const r = await submit(id);
      expect({ id, status: r.status, code: r.json.error?.code, fields: r.json.error?.fields?.map((f: { field: string }) => f.field) }).toEqual({ id, status: 409, code: 'id_conflict', fields: ['document.id'] });
      expect(r.json.error.message).toContain(existing);
      expect(r.json.error.message).toContain(csafFileName(existing));
    }
    // An id of its own is still welcome, and so is the next revision of the existing one.
    expect((await submit(`${accepted}-2`)).json.status).toBe('accepted');
    const next = documentText(sampleAdvisory({ id: accepted, severity: 'high', revision: 2 }));
    expect((await tocsin.call('POST', '/v1/advisories', { document: next, signatures: [await alice.sign(next)] })).json.status).toBe('accepted');
  });

  it('keeps the CSAF and OSV files of the advisory accepted first, even when a later id sorts before it', async () => {
    // An archive from before intake refused such ids: the later id is upper case, so it sorts first.
    const victim = uniqueId('acme-victim').toLowerCase();
    const squatter = victim.toUpperCase();
    expect(squatter < victim).toBe(true);
    expect((await submit(victim)).json.status).toBe('accepted');
    const archive = createAdvisoryArchive(tocsin.config.dataDir);
    const original = (await archive.get({ id: victim, revision: 1 }))!;
    const document = documentText(sampleAdvisory({ id: squatter, severity: 'none', title: 'Withdrawn: re-enable the plugin loader' }));
    await archive.store(
      {
        ...original,
        document,
        record: { ...original.record, id: squatter, title: 'Withdrawn: re-enable the plugin loader', severity: 'none', accepted_at: new Date(Date.parse(original.record.accepted_at) + 1_000).toISOString() },
      },
      {},
    );

    const outDir = path.join(tocsin.root, 'collision-site');
    const result = await buildMirror({ archive, ...(await mirrorKeys(tocsin)), config: tocsin.config.mirror, outDir });
    expect(result.skipped).toEqual([expect.stringMatching(new RegExp(`^${squatter}: its CSAF file name is already taken by ${victim}`))]);
    const csafFile = (await siteFiles(outDir)).find((f) => f.endsWith(`/${csafFileName(victim)}`))!;
    const csaf = JSON.parse(await readFile(path.join(outDir, csafFile), 'utf8'));
    expect(csaf.document.tracking.id).toBe(victim);
    expect(csaf.document.title).not.toMatch(/Withdrawn/);
    const files = await siteFiles(outDir);
    expect(files).toContain(`osv/${victim}.json`);
    expect(files).not.toContain(`osv/${squatter}.json`);
  });
});
