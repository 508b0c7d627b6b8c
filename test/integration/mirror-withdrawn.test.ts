import type { ArchivedAdvisory } from '../../src/advisory/record';
import { advisoryDocumentSchema, bulletinDocumentSchema, type RetractionDocument } from '../../src/advisory/schema';
import { loadConfig } from '../../src/config';
import { renderCsaf } from '../../src/mirror/csaf-document';
import type { MirrorEntry } from '../../src/mirror/mirror-entry';
import { renderOsv } from '../../src/mirror/osv-document';
import { documentText, sampleAdvisory } from '../support/advisory-fixture';
import { csafConformance, unexpectedWarnings } from '../support/csaf-conformance';
import { fuzz } from '../support/fuzz';
import { mirrorValidators, schemaErrors } from '../support/mirror-schemas';

const mirrorConfig = loadConfig({ TOCSIN_MIRROR_URL: 'https://advisories.example.org' }).mirror;
const { csaf: validateCsaf, osv: validateOsv } = mirrorValidators();

const archivedOf = (doc: { id: string; revision: number; kind: 'advisory' | 'mitigation' | 'retraction'; title: string }, text: string, minute: number): ArchivedAdvisory => ({
  record: { id: doc.id, revision: doc.revision, kind: doc.kind, title: doc.title, severity: 'high', sha256: '0'.repeat(64), accepted_at: new Date(Date.UTC(2026, 10, 24, 12, minute, 3, 120)).toISOString(), publishers: ['A'.repeat(40)], broadcaster_fingerprint: 'B'.repeat(40) },
  document: text,
  publisherSignatures: [],
  broadcasterSignature: '',
});

/** An advisory of `revisions` revisions (numbered as given: gaps allowed), withdrawn by a retraction with `reason`. */
function withdrawnEntry(revisions: number[], reason: string, title = 'Withdrawn: not a vulnerability'): MirrorEntry {
  const entries = revisions.map((revision, i) => {
    const fields = sampleAdvisory({ revision });
    const doc = bulletinDocumentSchema.parse(fields);
    return { archived: archivedOf(doc, documentText(fields), i), doc };
  });
  const fields = { id: 'ACME-2026-0001-R', revision: 1, kind: 'retraction', retracts: 'ACME-2026-0001', title, summary: reason, published: '2026-11-25T12:00:00Z' };
  const doc = advisoryDocumentSchema.parse(fields) as RetractionDocument;
  return { id: 'ACME-2026-0001', revisions: entries, withdrawn: { archived: archivedOf(doc, documentText(fields), 59), doc } };
}

describe('the CSAF and OSV forms of a withdrawn advisory', () => {
  it('pass the official schemas and CSAF\'s mandatory tests for one revision, several, and several with gaps', async () => {
    for (const revisions of [[1], [1, 2, 3], [1, 4]]) {
      const entry = withdrawnEntry(revisions, 'The report was wrong.');
      const csaf = renderCsaf(entry, mirrorConfig) as { document: { tracking: { version: string; revision_history: { number: string }[] } } };
      expect(validateCsaf(csaf) ? '' : schemaErrors(validateCsaf)).toBe('');
      const { errors, warnings } = await csafConformance(csaf);
      expect({ revisions, errors, warnings: unexpectedWarnings(warnings) }).toEqual({ revisions, errors: [], warnings: [] });
      expect(csaf.document.tracking.version).toBe(String(revisions.length + 1));
      const osv = renderOsv(entry, mirrorConfig);
      expect(validateOsv(osv) ? '' : schemaErrors(validateOsv)).toBe('');
      expect(osv).toMatchObject({ withdrawn: '2026-11-24T12:59:03.120Z', modified: '2026-11-24T12:59:03.120Z' });
    }
  });

  it('stay valid whatever the reason and title say, as intake takes them', async () => {
    const words = ['Ünïcödé', '<script>alert(1)</script>', '"quoted"', 'tab\there', 'line\nbreak', '\u{1F4A3}', 'a'.repeat(300), '-----BEGIN PGP SIGNATURE-----'];
    await fuzz('withdrawn-forms', 60, async (rng) => {
      const reason = Array.from({ length: rng.int(1, 6) }, () => rng.pick(words)).join(rng.pick([' ', '\n']));
      const title = rng.pick(words.filter((w) => !w.includes('\n') && w.length <= 300));
      const entry = withdrawnEntry([1, 2], reason, title);
      const csaf = renderCsaf(entry, mirrorConfig);
      expect(validateCsaf(csaf) ? '' : schemaErrors(validateCsaf)).toBe('');
      expect((await csafConformance(csaf)).errors).toEqual([]);
      const osv = renderOsv(entry, mirrorConfig);
      expect(validateOsv(osv) ? '' : schemaErrors(validateOsv)).toBe('');
    });
  });
});
