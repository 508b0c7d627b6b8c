import type { ArchivedAdvisory } from '../../src/advisory/record';
import { bulletinDocumentSchema } from '../../src/advisory/schema';
import { loadConfig } from '../../src/config';
import { renderCsaf } from '../../src/mirror/csaf-document';
import { scoreCvss3 } from '../../src/mirror/cvss3';
import type { MirrorEntry } from '../../src/mirror/mirror-entry';
import { osvVersions, packageFromPurl, renderOsv } from '../../src/mirror/osv-document';
import { isConformantPurl, purlProblem } from '../../src/mirror/purl';
import { csafFileName } from '../../src/mirror/site-paths';
import { fieldProblems } from '../../src/util/zod-fields';
import * as mandatory from '@secvisogram/csaf-validator-lib/mandatoryTests.js';
import { documentText, sampleAdvisory } from '../support/advisory-fixture';
import { csafConformance, unexpectedWarnings } from '../support/csaf-conformance';
import { mirrorValidators } from '../support/mirror-schemas';

const mirrorConfig = loadConfig({ TOCSIN_MIRROR_URL: 'https://advisories.example.org' }).mirror;

/** An advisory as the mirror loads it, one archived revision per overrides, accepted a minute apart. */
function entry(...revisions: Record<string, unknown>[]): MirrorEntry {
  const archivedRevisions = (revisions.length > 0 ? revisions : [{}]).map((overrides, i) => {
    const doc = bulletinDocumentSchema.parse(sampleAdvisory(overrides));
    const accepted_at = new Date(Date.UTC(2026, 10, 24, 12, i, 3, 120)).toISOString();
    const archived: ArchivedAdvisory = {
      record: { id: doc.id, revision: doc.revision, kind: doc.kind, title: doc.title, severity: doc.severity, sha256: '0'.repeat(64), accepted_at, publishers: ['A'.repeat(40)], broadcaster_fingerprint: 'B'.repeat(40) },
      document: documentText(sampleAdvisory(overrides)),
      publisherSignatures: [],
      broadcasterSignature: '',
    };
    return { archived, doc };
  });
  return { id: archivedRevisions[0]!.doc.id, revisions: archivedRevisions };
}

describe('CVSS 3.x base scores', () => {
  it('agree with FIRST\'s calculator (CSAF tests 6.1.8-6.1.10) for every CVSS 3.0 and 3.1 base vector', async () => {
    const values = { AV: 'NALP', AC: 'LH', PR: 'NLH', UI: 'NR', S: 'UC', C: 'NLH', I: 'NLH', A: 'NLH' };
    let metrics = [''];
    for (const [metric, letters] of Object.entries(values)) metrics = metrics.flatMap((m) => [...letters].map((l) => `${m}/${metric}:${l}`));
    const failures: string[] = [];
    for (const version of ['3.0', '3.1']) {
      for (const m of metrics) {
        const csaf = renderCsaf(entry({ cvss: `CVSS:${version}${m}` }), mirrorConfig);
        for (const test of [mandatory.mandatoryTest_6_1_8!, mandatory.mandatoryTest_6_1_9!, mandatory.mandatoryTest_6_1_10!]) {
          const result = await test(csaf);
          if (result.isValid === false) failures.push(`CVSS:${version}${m} ${test.name} ${JSON.stringify(result.errors)}`);
        }
      }
    }
    expect(metrics).toHaveLength(2592);
    expect(failures).toEqual([]);
  });

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

describe('CSAF conformance, judged by the BSI validator (CSAF 2.0 mandatory and recommended tests)', () => {
  const lib = [{ product: 'acme-lib', versions: '>=1.0.0 <1.4.2', purl: 'pkg:npm/%40acme/lib', fixed: '1.4.2' }];
  const cases: [string, MirrorEntry][] = [
    ['the sample advisory', entry()],
    [
      'several products and versions, two CVEs, a fix and a CVSS 3.1 vector',
      entry({
        affected: [...lib, { product: 'acme-cli', versions: 'all 2.x releases' }, { product: 'acme-server', versions: '<2.3.1', purl: 'pkg:maven/org.acme/server', fixed: '2.3.1' }],
        cves: ['CVE-2026-22222', 'CVE-2026-22223'],
        cvss: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N',
      }),
    ],
    ['no CVE, mitigations only', entry({ cves: [], references: [], mitigations: [{ text: 'Block port 8443.' }, { text: 'Disable plugins.' }] })],
    ['no CVE, no mitigation, no fix', entry({ cves: [], mitigations: [] })],
    ['a CVE listed twice', entry({ cves: ['CVE-2026-1111', 'CVE-2026-1111'] })],
    ['a mitigation note with a CVSS 4.0 vector', entry({ id: 'ACME-NOTE-1', kind: 'mitigation', mitigates: 'ACME-2026-0001', cves: [], cvss: 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N' })],
    ['three revisions', entry({}, { revision: 2, title: 'Corrected' }, { revision: 3, severity: 'high' })],
    ['revisions with gaps, the first numbered 2', entry({ revision: 2 }, { revision: 5 }, { revision: 9 })],
    ['an id that needs file name normalisation', entry({ id: 'Acme.Lib_2026..7' })],
    ['a CVSS 3.0 vector, and one with temporal metrics', entry({ cvss: 'CVSS:3.0/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N' })],
    ['a CVSS 3.1 vector with temporal metrics', entry({ cvss: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:P' })],
    [
      'purls that intake accepts and purl parsers refuse',
      entry({ affected: ['pkg:maven/server', 'pkg:cran/acme', 'pkg:swift/acme', 'pkg:npm/acme?x=', 'pkg:pub/Acme-X', 'pkg:npm/a@1/2', 'pkg://npm/x', 'pkg:npm/x/'].map((purl, i) => ({ product: `p${i}`, versions: '1', purl })) }),
    ],
    ['references that are URLs but not URIs', entry({ references: ['https://example.org/a b', 'https://пример.example/ж', 'http://example.org/%zz', 'https://example.org/x?y=[1]', 'https://example.org/#a#b'] })],
  ];

  it.each(cases)('%s: no schema or mandatory test fails, and only the known recommended tests warn', async (_name, e) => {
    const { errors, warnings } = await csafConformance(renderCsaf(e, mirrorConfig));
    expect(errors).toEqual([]);
    expect(unexpectedWarnings(warnings)).toEqual([]);
  });

  it('warns, for an advisory that says everything CSAF recommends, only that its language is unknown', async () => {
    const e = entry({ affected: lib, cvss: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' });
    expect((await csafConformance(renderCsaf(e, mirrorConfig))).warnings).toEqual(['optionalTest_6_2_12 /document: missing document language']);
  });

  it('numbers the revision history 1, 2, 3 whatever the advisory\'s revision numbers, naming them in the summaries', () => {
    const csaf = renderCsaf(entry({ revision: 2 }, { revision: 5 }, { revision: 9 }), mirrorConfig) as Record<string, any>;
    expect(csaf.document.tracking.version).toBe('3');
    expect(csaf.document.tracking.revision_history.map((r: any) => r.number)).toEqual(['1', '2', '3']);
    expect(csaf.document.tracking.revision_history[2].summary).toMatch(/^ACME-2026-0001 revision 9, accepted by tocsin/);
  });

  it('keeps one vulnerability per CVE, percent-encodes references, and drops only the purls parsers refuse', () => {
    const csaf = renderCsaf(entry({ cves: ['CVE-2026-1111', 'CVE-2026-1111', 'CVE-2026-2222'], references: ['https://пример.example/ж', 'https://example.org/a b#c#d'], affected: [...lib, { product: 'x', versions: '1', purl: 'pkg:maven/server' }] }), mirrorConfig) as Record<string, any>;
    expect(csaf.vulnerabilities.map((v: any) => v.cve)).toEqual(['CVE-2026-1111', 'CVE-2026-2222']);
    expect(csaf.document.references.slice(-2).map((r: any) => r.url)).toEqual(['https://xn--e1afmkfd.example/%D0%B6', 'https://example.org/a%20b#c%23d']);
    expect(csaf.product_tree.full_product_names.map((p: any) => p.product_identification_helper?.purl)).toEqual(['pkg:npm/%40acme/lib', 'pkg:npm/%40acme/lib', undefined]);
  });

  it('accepts no purl that the validator\'s purl parser (test 6.1.13) refuses', async () => {
    const purls = [
      'pkg:npm/%40acme/lib@1.2.3', 'pkg:maven/org.acme/server@2.0?type=jar', 'pkg:golang/github.com/acme/x@v1.2.3', 'pkg:golang/github.com/acme/x@vnext',
      'pkg:deb/debian/curl@7.50.3-1?arch=i386&distro=jessie', 'pkg:pypi/acme-server', 'pkg:generic/acme/tool#bin/tool', 'pkg:conan/openssl@3.0', 'pkg:conan/acme/openssl@3.0',
      'pkg:conan/acme/openssl@3.0?channel=stable', 'pkg:conan/openssl@3.0?channel=stable', 'pkg:pub/Acme-X', 'pkg:pub/acme_x', 'pkg:oci/acme/debian', 'pkg:oci/debian@sha256%3A00',
      'pkg:swift/github.com/acme/x@1.0', 'pkg:swift/github.com/acme/x', 'pkg:cran/acme@1.0', 'pkg:maven/server', 'pkg:npm/%zz', 'pkg:npm/a?1x=y', 'pkg:npm/a?x=', 'pkg:npm/@acme/lib', 'pkg:/x', 'pkg:1npm/x',
      'pkg://npm/x', 'PKG:npm/x', 'pkg:npm/x/', 'pkg:npm/a@1/2', 'pkg:npm/a%2Fb', 'pkg:npm/x?a=1&A=2', 'pkg:npm/x#a/../b', 'pkg:.npm/x', 'pkg:npm/x?a=b?c', `pkg:a/b?${'a&'.repeat(40)}"`,
    ];
    const doc = renderCsaf(entry(), mirrorConfig) as Record<string, any>;
    const verdicts = await Promise.all(
      purls.map(async (purl) => {
        const copy = structuredClone(doc);
        copy.product_tree.full_product_names[0].product_identification_helper = { purl };
        const parsed = (await mandatory.mandatoryTest_6_1_13!(copy)).isValid !== false;
        return { purl, ours: isConformantPurl(purl), parsed };
      }),
    );
    expect(verdicts.filter((v) => v.ours && !v.parsed)).toEqual([]);
    // Not vacuous: most of the well-formed ones are kept, and the parser does refuse some.
    expect(verdicts.filter((v) => v.ours).length).toBeGreaterThan(10);
    expect(verdicts.filter((v) => !v.parsed).length).toBeGreaterThan(5);
  });

  it('is a real check: every mandatory test is loaded, and documents broken in known ways fail the matching test', async () => {
    expect(Object.keys(mandatory)).toHaveLength(43);
    const csaf = renderCsaf(entry({ cves: ['CVE-2026-1111', 'CVE-2026-2222'], cvss: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }), mirrorConfig) as Record<string, any>;
    const failing = async (mutate: (c: Record<string, any>) => void) => {
      const copy = structuredClone(csaf);
      mutate(copy);
      return [...new Set((await csafConformance(copy)).errors.map((e) => e.split(' ')[0]))];
    };
    expect(await failing((c) => c.vulnerabilities[0].product_status.known_affected.push('CSAFPID-9'))).toEqual(['mandatoryTest_6_1_1']);
    expect(await failing((c) => (c.vulnerabilities[0].scores[0].cvss_v3.baseScore = 9.1))).toEqual(['mandatoryTest_6_1_9']);
    expect(await failing((c) => (c.vulnerabilities[1].cve = c.vulnerabilities[0].cve))).toEqual(['mandatoryTest_6_1_23']);
    expect(await failing((c) => (c.document.tracking.revision_history[0].number = '2'))).toEqual(expect.arrayContaining(['mandatoryTest_6_1_21']));
    expect(await failing((c) => (c.document.extra = true))).toEqual(['csaf_2_0_strict']);
  });
});

describe('purls at intake', () => {
  const problemsFor = (purls: string[]) => {
    const parsed = bulletinDocumentSchema.safeParse(sampleAdvisory({ affected: purls.map((purl, i) => ({ product: `p${i}`, versions: '1', purl })) }));
    return parsed.success ? [] : fieldProblems(parsed.error, 'document');
  };

  it('accepts what the purl specification calls a purl, including forms the mirror leaves out', () => {
    const purls = [
      'pkg:npm/%40acme/lib@1.2.3', 'pkg:maven/org.acme/server@2.0?type=jar', 'pkg:deb/debian/curl@7.50.3-1?arch=i386&distro=jessie', 'pkg:generic/acme/tool#bin/tool',
      'pkg:oci/debian@sha256%3A244fd47e07d10?repository_url=docker.io/library/debian&arch=amd64', 'PKG:npm/x', 'pkg://npm/x', 'pkg:npm/x/', 'pkg:maven/server', 'pkg:npm/x?a=',
    ];
    expect(purls.map(purlProblem)).toEqual(purls.map(() => null));
    expect(problemsFor(purls)).toEqual([]);
  });

  it('refuses what is no purl with 400 naming document.affected.N.purl and saying why', () => {
    const cases: [string, RegExp][] = [
      ['npm/acme', /must start with "pkg:"/],
      ['pkg:npm', /names no package/],
      ['pkg:npm/', /the name is empty/],
      ['pkg:1npm/x', /type must start with a letter/],
      ['pkg:npm/a b', /" " at position 10 must be percent-encoded/],
      ['pkg:npm/%zz', /"%" at position 9 does not start a %XX escape/],
      ['pkg:npm/%C3', /does not decode as UTF-8/],
      ['pkg:npm/@acme/lib', /"@" in the namespace or name must be percent-encoded/],
      ['pkg:npm/a%2Fb/c', /encoded "\/"/],
      ['pkg:npm/x?1x=y', /qualifier key "1x" must start with a letter/],
      ['pkg:npm/x?a=1&A=2', /qualifier "a" is given twice/],
      ['pkg:npm/x?flag', /qualifier "flag" needs a value/],
      ['pkg:npm/x?a=b?c', /"\?" inside the qualifiers/],
      ['pkg:npm/x#a#b', /"#" or "\?" inside the subpath/],
      [`pkg:a/b?${'a&'.repeat(200)}"`, /" at position/],
    ];
    for (const [purl, why] of cases) expect({ purl, problem: purlProblem(purl) }).toEqual({ purl, problem: expect.stringMatching(why) });
    const problems = problemsFor(['pkg:npm/ok', 'pkg:npm/a b', 'pkg:npm/ok2', 'npm/x']);
    expect(problems).toEqual([
      { field: 'document.affected.1.purl', message: expect.stringMatching(/^must be a package URL \(purl\): the character " "/) },
      { field: 'document.affected.3.purl', message: expect.stringMatching(/must start with "pkg:"/) },
    ]);
  });
});
