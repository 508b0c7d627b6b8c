import { tlpLabels } from '../../src/advisory/tlp';
import { changedFields } from '../../src/notices/document-changes';
import { inlineMarks, markLines, utcTime } from '../../src/notices/notice-marks';
import { documentText, sampleAdvisory } from '../support/advisory-fixture';

describe('changedFields', () => {
  const first = sampleAdvisory();

  it('lists the top-level fields that differ, sorted, never revision', () => {
    const next = sampleAdvisory({ revision: 2, summary: 'Worse than we thought.', severity: 'high', affected: [{ product: 'acme-server', versions: '<2.4.0' }] });
    expect(changedFields(documentText(first), documentText(next))).toEqual(['affected', 'severity', 'summary']);
  });

  it('counts a field added or removed, and nothing for a revision that only renumbers', () => {
    expect(first).not.toHaveProperty('cvss');
    expect(changedFields(documentText(first), documentText({ ...first, revision: 2, cvss: 'CVSS:3.1/AV:N' }))).toEqual(['cvss']);
    expect(changedFields(documentText({ ...first, cvss: 'CVSS:3.1/AV:N' }), documentText({ ...first, revision: 2 }))).toEqual(['cvss']);
    expect(changedFields(documentText(first), documentText({ ...first, revision: 2 }))).toEqual([]);
  });

  it('compares values, not how the JSON was written: key order and spacing are no change, array order is', () => {
    const reordered = `{"revision":2,${JSON.stringify({ ...first, affected: [{ versions: '<2.3.1', product: 'acme-server' }] }).slice(1)}`;
    expect(changedFields(documentText(first), reordered)).toEqual([]);
    const refs = ['https://a.example/', 'https://b.example/'];
    expect(changedFields(documentText({ ...first, references: refs }), documentText({ ...first, references: [...refs].reverse() }))).toEqual(['references']);
  });

  it('sees disclosure fields move: an embargo changed, an audience widened', () => {
    const embargoed = sampleAdvisory({ tlp: 'AMBER', embargo_until: '2026-12-09T14:00:00Z', audience: ['distros'] });
    const moved = { ...embargoed, revision: 2, embargo_until: '2026-12-10T14:00:00Z', audience: ['distros', 'cloud'] };
    expect(changedFields(documentText(embargoed), documentText(moved))).toEqual(['audience', 'embargo_until']);
  });
});

describe('utcTime', () => {
  it('tells the time in UTC, whatever offset the document used', () => {
    expect(utcTime('2026-12-09T14:00:00Z')).toBe('2026-12-09 14:00 UTC');
    expect(utcTime('2026-12-09T15:00:00+01:00')).toBe('2026-12-09 14:00 UTC');
    expect(utcTime('2026-12-09T23:30:00-05:00')).toBe('2026-12-10 04:30 UTC');
  });

  it('shows seconds when there are any, and never a time before the real end', () => {
    expect(utcTime('2026-12-09T14:00:30Z')).toBe('2026-12-09 14:00:30 UTC');
    expect(utcTime('2026-12-09T14:00:00.250Z')).toBe('2026-12-09 14:00:01 UTC');
    expect(utcTime('2026-12-09T13:59:59.900Z')).toBe('2026-12-09 14:00 UTC');
  });
});

describe('marks', () => {
  it('starts with the TLP 2.0 label for every label, CLEAR included', () => {
    for (const tlp of tlpLabels) {
      expect(inlineMarks({ tlp })).toBe(`TLP:${tlp}`);
      expect(markLines({ tlp })).toEqual([`TLP:${tlp}`]);
    }
  });

  it('adds the embargo, the update and the withdrawal after the label', () => {
    const marks = { tlp: 'AMBER' as const, embargoUntil: '2026-12-09T14:00:00Z', update: { previousRevision: 1, changes: ['affected', 'severity'] } };
    expect(inlineMarks(marks)).toBe('TLP:AMBER [EMBARGOED until 2026-12-09 14:00 UTC] [UPDATED]');
    const lines = markLines(marks);
    expect(lines[0]).toBe('TLP:AMBER');
    expect(lines[1]).toMatch(/^EMBARGOED until 2026-12-09 14:00 UTC: /);
    expect(lines[2]).toBe('UPDATED (changed since revision 1: affected, severity)');
    expect(inlineMarks({ tlp: 'CLEAR', retracts: 'ACME-1' })).toBe('TLP:CLEAR [WITHDRAWN]');
    expect(markLines({ tlp: 'CLEAR', retracts: 'ACME-1' })[1]).toMatch(/^WITHDRAWN: advisory ACME-1 is withdrawn/);
  });
});
