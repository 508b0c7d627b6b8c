import type { ArchivedAdvisory } from '../../src/advisory/record';
import { bulletinDocumentSchema } from '../../src/advisory/schema';
import { tlpLabels } from '../../src/advisory/tlp';
import { loadConfig } from '../../src/config';
import { renderCsaf } from '../../src/mirror/csaf-document';
import type { MirrorEntry } from '../../src/mirror/mirror-entry';
import { documentText, sampleAdvisory } from '../support/advisory-fixture';
import { csafConformance } from '../support/csaf-conformance';
import { mirrorValidators, schemaErrors } from '../support/mirror-schemas';

const mirrorConfig = loadConfig({ TOCSIN_MIRROR_URL: 'https://advisories.example.org' }).mirror;
const { csaf: validateCsaf } = mirrorValidators();

function entryOf(fields: Record<string, unknown>): MirrorEntry {
  const doc = bulletinDocumentSchema.parse(sampleAdvisory(fields));
  const archived: ArchivedAdvisory = {
    record: { id: doc.id, revision: 1, kind: doc.kind, title: doc.title, severity: doc.severity, ...(doc.tlp ? { tlp: doc.tlp } : {}), sha256: '0'.repeat(64), accepted_at: '2026-11-24T12:00:03.120Z', publishers: ['A'.repeat(40)], broadcaster_fingerprint: 'B'.repeat(40) },
    document: documentText(sampleAdvisory(fields)),
    publisherSignatures: [],
    broadcasterSignature: '',
  };
  return { id: doc.id, revisions: [{ archived, doc }] };
}

describe('the TLP label of a CSAF document', () => {
  it('is the TLP 1.0 label CSAF 2.0 knows, with the TLP 2.0 label named in the text, valid for every label tocsin takes', async () => {
    const expected = { CLEAR: 'WHITE', GREEN: 'GREEN', AMBER: 'AMBER', 'AMBER+STRICT': 'AMBER' };
    for (const tlp of tlpLabels) {
      const csaf = renderCsaf(entryOf({ tlp }), mirrorConfig) as { document: { distribution: { text: string; tlp: unknown } } };
      expect({ tlp, distribution: csaf.document.distribution }).toEqual({
        tlp,
        distribution: { text: expect.stringContaining(`TLP:${tlp} `), tlp: { label: expected[tlp], url: 'https://www.first.org/tlp/' } },
      });
      expect(validateCsaf(csaf) ? '' : schemaErrors(validateCsaf)).toBe('');
      expect((await csafConformance(csaf)).errors).toEqual([]);
    }
    // A document with no label is CLEAR.
    expect((renderCsaf(entryOf({}), mirrorConfig) as { document: { distribution: { tlp: { label: string } } } }).document.distribution.tlp.label).toBe('WHITE');
  });
});
