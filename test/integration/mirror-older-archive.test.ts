import path from 'node:path';
import { buildMirror } from '../../src/mirror/build-mirror';
import { createAdvisoryArchive } from '../../src/storage/advisory-archive';
import { documentText, sampleAdvisory, uniqueId } from '../support/advisory-fixture';
import { useGpgPublisher } from '../support/use-gpg-publisher';
import { mirrorKeys } from '../support/mirror-publish';
import { siteFiles } from '../support/site-tree';
import { useTocsin } from '../support/use-tocsin';

/**
 * Intake's rules grow stricter over time (the text rule, purls). An advisory accepted and
 * published under the older rules stays in the archive, and must stay on the mirror: the mirror
 * never unpublishes what recipients were already told.
 */
describe('the mirror and advisories archived under older intake rules', () => {
  const publisher = useGpgPublisher('sec@example.org');
  const tocsin = useTocsin(() => ({ publishers: [publisher.armoredPublicKey], workers: false, env: { TOCSIN_MIRROR_URL: 'https://advisories.example.org/' } }));

  it('keeps publishing an archived advisory whose text or purl today\'s intake would refuse, and skips one whose shape is broken', async () => {
    const current = uniqueId('CURRENT');
    const document = documentText(sampleAdvisory({ id: current }));
    expect((await tocsin.call('POST', '/v1/advisories', { document, signatures: [await publisher.sign(document)] })).status).toBe(202);
    const archive = createAdvisoryArchive(tocsin.config.dataDir);
    const original = (await archive.get({ id: current, revision: 1 }))!;
    const storeAs = async (id: string, fields: Record<string, unknown>) =>
      archive.store({ ...original, document: documentText(sampleAdvisory({ id, ...fields })), record: { ...original.record, id } }, {});

    const older = uniqueId('OLDER');
    await storeAs(older, { title: 'Older rules: a \u202E in the title', affected: [{ product: 'acme', versions: '<1', purl: 'pkg:npm/%zz' }] });
    const broken = uniqueId('BROKEN');
    await storeAs(broken, { severity: 'apocalyptic' });

    const outDir = path.join(tocsin.root, 'older-archive-site');
    const result = await buildMirror({ archive, ...(await mirrorKeys(tocsin)), config: tocsin.config.mirror, outDir });
    expect(result.skipped).toEqual([`${broken} revision 1: its document no longer validates`]);
    const files = await siteFiles(outDir);
    expect(files).toEqual(expect.arrayContaining([`advisories/${older}/1/${older}.json`, `advisories/${older}/1/${older}.json.asc`, `osv/${older}.json`]));
    expect(files.filter((f) => f.includes(broken))).toEqual([]);
  });
});
