import type { ArchivedAdvisory } from '../../src/advisory/record';
import { bulletinDocumentSchema } from '../../src/advisory/schema';
import { loadConfig } from '../../src/config';
import type { MirrorEntry } from '../../src/mirror/mirror-entry';
import { renderOsv } from '../../src/mirror/osv-document';
import { documentText, sampleAdvisory } from '../support/advisory-fixture';
import { fuzz, type Rng } from '../support/fuzz';
import { mirrorValidators, schemaErrors } from '../support/mirror-schemas';

const mirrorConfig = loadConfig({ TOCSIN_MIRROR_URL: 'https://advisories.example.org' }).mirror;
const { osv: validateOsv } = mirrorValidators();

/** One archived revision of a document that intake accepts, as the mirror loads it. */
function entryOf(fields: Record<string, unknown>): MirrorEntry {
  const doc = bulletinDocumentSchema.parse(sampleAdvisory(fields));
  const archived: ArchivedAdvisory = {
    record: { id: doc.id, revision: doc.revision, kind: doc.kind, title: doc.title, severity: doc.severity, sha256: '0'.repeat(64), accepted_at: '2026-11-24T12:00:03.120Z', publishers: ['A'.repeat(40)], broadcaster_fingerprint: 'B'.repeat(40) },
    document: documentText(sampleAdvisory(fields)),
    publisherSignatures: [],
    broadcasterSignature: '',
  };
  return { id: doc.id, revisions: [{ archived, doc }] };
}

/** URLs that WHATWG parsing (and so intake) accepts, though they are not RFC 3986 URIs as written. */
const awkwardUrls = [
  'https://example.org/a b',
  'https://пример.example/ж',
  'https://example.org/?q=[1]',
  'https://example.org/x#a#b',
  'https://example.org/%zz',
  'https://user:p ss@example.org/',
  'http://example.org/\u{1F4A3}?\u00e9=\u00e8#\u00e0',
  'https://EXAMPLE.org:8443/%41{}|^`',
];

function hostileButValid(rng: Rng): Record<string, unknown> {
  const words = ['Ünïcödé', '<script>alert(1)</script>', '"quoted"', 'tab\there', 'line\nbreak', '\u{1F4A3}', 'a'.repeat(200)];
  return {
    title: rng.pick(words.filter((w) => !w.includes('\n'))),
    summary: Array.from({ length: rng.int(1, 5) }, () => rng.pick(words)).join(' '),
    references: Array.from({ length: rng.int(0, 6) }, () => rng.pick(awkwardUrls)),
    affected: [{ product: rng.pick(['acme', 'Ünï server']), versions: rng.pick(['<2.3.1', '>=1.0 <1.4.2', '2.x', '1.2.3']), ...(rng.bool() ? { purl: rng.pick(['pkg:npm/%40acme/lib', 'pkg:pypi/acme', 'pkg:maven/org.acme/server']) } : {}) }],
    ...(rng.bool() ? { cvss: rng.pick(['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', 'CVSS:2.0/junk', 'x']) } : {}),
  };
}

describe('OSV files the mirror writes', () => {
  it('percent-encode reference URLs the way the CSAF rendering does, so the official OSV schema accepts them', () => {
    const osv = renderOsv(entryOf({ references: ['https://example.org/a b', 'https://пример.example/ж'] }), mirrorConfig) as { references: { url: string }[] };
    expect(osv.references.slice(-2).map((r) => r.url)).toEqual(['https://example.org/a%20b', 'https://xn--e1afmkfd.example/%D0%B6']);
    expect(validateOsv(osv) ? '' : schemaErrors(validateOsv)).toBe('');
  });

  it('pass the official OSV schema for any hostile-but-valid document', async () => {
    await fuzz('osv-schema', 200, async (rng) => {
      const osv = renderOsv(entryOf(hostileButValid(rng)), mirrorConfig);
      expect(validateOsv(osv) ? '' : `${schemaErrors(validateOsv)}\n${JSON.stringify(osv)}`).toBe('');
    });
  });
});
