import type { ArchivedAdvisory } from '../../src/advisory/record';
import { advisoryDocumentSchema } from '../../src/advisory/schema';
import { loadConfig } from '../../src/config';
import { renderCsaf } from '../../src/mirror/csaf-document';
import { scoreCvss3 } from '../../src/mirror/cvss3';
import type { MirrorEntry } from '../../src/mirror/mirror-entry';
import { osvVersions, packageFromPurl, renderOsv } from '../../src/mirror/osv-document';
import { csafFileName } from '../../src/mirror/site-paths';
import { documentText, sampleAdvisory } from '../support/advisory-fixture';
import { mirrorValidators } from '../support/mirror-schemas';

const mirrorConfig = loadConfig({ TOCSIN_MIRROR_URL: 'https://advisories.example.org' }).mirror;

function entry(overrides: Record<string, unknown> = {}): MirrorEntry {
  const doc = advisoryDocumentSchema.parse(sampleAdvisory(overrides));
  const archived: ArchivedAdvisory = {
    record: { id: doc.id, revision: doc.revision, kind: doc.kind, title: doc.title, severity: doc.severity, sha256: '0'.repeat(64), accepted_at: '2026-11-24T12:00:03.120Z', publishers: ['A'.repeat(40)], broadcaster_fingerprint: 'B'.repeat(40) },
    document: documentText(sampleAdvisory(overrides)),
    publisherSignatures: [],
    broadcasterSignature: '',
  };
  return { id: doc.id, revisions: [{ archived, doc }] };
}

describe('CVSS 3.x base scores', () => {
  it.each([
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', 9.8, 'CRITICAL'],
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N', 6.1, 'MEDIUM'],
    ['CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H', 9.9, 'CRITICAL'],
    ['CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N', 5.5, 'MEDIUM'],
    ['CVSS:3.0/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N', 3.1, 'LOW'],
    ['CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:N/I:N/A:N', 0, 'NONE'],
  ])('%s scores %d', (vector, score, severity) => {
    expect(scoreCvss3(vector)).toMatchObject({ baseScore: score, baseSeverity: severity });
  });

  it('refuses what it cannot score whole: temporal metrics, missing or repeated metrics, other versions', () => {
    expect(scoreCvss3('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:P')).toBeNull();
    expect(scoreCvss3('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H')).toBeNull();
    expect(scoreCvss3('CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H')).toBeNull();
    expect(scoreCvss3('CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N')).toBeNull();
    expect(scoreCvss3('CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H')).toBeNull();
  });
});

describe('OSV mapping', () => {
  it('reads simple version notations as ranges and leaves the rest alone', () => {
    expect(osvVersions('<2.3.1')).toEqual({ ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '2.3.1' }] }] });
    expect(osvVersions('>= 1.0, < 1.4.2')).toEqual({ ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '1.0' }, { fixed: '1.4.2' }] }] });
    expect(osvVersions('<=3.0')).toEqual({ ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { last_affected: '3.0' }] }] });
    expect(osvVersions('1.2.3')).toEqual({ versions: ['1.2.3'] });
    expect(osvVersions('>1.0')).toBeNull();
    expect(osvVersions('2.x and later')).toBeNull();
    expect(osvVersions('<1.0 <2.0')).toBeNull();
  });

  it('names packages the way OSV does for each ecosystem', () => {
    expect(packageFromPurl('pkg:npm/%40acme/lib@1.2.3')).toEqual({ ecosystem: 'npm', name: '@acme/lib', purl: 'pkg:npm/%40acme/lib' });
    expect(packageFromPurl('pkg:maven/org.acme/server')).toMatchObject({ ecosystem: 'Maven', name: 'org.acme:server' });
    expect(packageFromPurl('pkg:golang/github.com/acme/server')).toMatchObject({ ecosystem: 'Go', name: 'github.com/acme/server' });
    expect(packageFromPurl('pkg:pypi/acme-server')).toMatchObject({ ecosystem: 'PyPI', name: 'acme-server' });
    expect(packageFromPurl('pkg:deb/debian/acme-server')).toBeNull();
  });
});

describe('CSAF file names', () => {
  it('follow the rule: lowercase, runs outside [+-a-z0-9] become one underscore', () => {
    expect(csafFileName('ACME-2026-0001')).toBe('acme-2026-0001.json');
    expect(csafFileName('Acme.Lib_2026..7')).toBe('acme_lib_2026_7.json');
    expect(csafFileName('GHSA-abcd-1234+x')).toBe('ghsa-abcd-1234+x.json');
  });
});

describe('the schema validators the mirror tests rely on', () => {
  const validators = mirrorValidators();

  it('accept what tocsin renders and refuse a document broken in any of several places', () => {
    const e = entry({ cvss: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', affected: [{ product: 'acme', versions: '<2', purl: 'pkg:npm/acme', fixed: '2' }] });
    const csaf = renderCsaf(e, mirrorConfig) as Record<string, any>;
    expect(validators.csaf(csaf)).toBe(true);
    const broken = (mutate: (c: Record<string, any>) => void) => {
      const copy = structuredClone(csaf);
      mutate(copy);
      return validators.csaf(copy);
    };
    expect(broken((c) => (c.vulnerabilities[0].scores[0].cvss_v3.baseSeverity = 'SEVERE'))).toBe(false);
    expect(broken((c) => (c.document.distribution.tlp.label = 'CLEAR'))).toBe(false);
    expect(broken((c) => (c.document.tracking.version = 'v1'))).toBe(false);
    expect(broken((c) => delete c.document.publisher.namespace)).toBe(false);

    const osv = renderOsv(e, mirrorConfig) as Record<string, any>;
    expect(validators.osv(osv)).toBe(true);
    expect(validators.osv({ ...osv, id: 'ACME-2026-0001' })).toBe(false);
    expect(validators.osv({ ...osv, modified: '2026-11-24T12:00:00+01:00' })).toBe(false);
  });
});
