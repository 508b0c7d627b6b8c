import type { ArchivedAdvisory } from '../../src/advisory/record';
import { advisoryDocumentSchema, type StatusDocument } from '../../src/advisory/schema';
import { loadConfig } from '../../src/config';
import { nextPromise, type IncidentEntry } from '../../src/mirror/incident-entry';
import { renderStatusJson } from '../../src/mirror/status-json';
import { renderStatusBanner, renderStatusPage } from '../../src/mirror/status-page';
import { matchesFilter } from '../../src/release/routing';
import { documentText } from '../support/advisory-fixture';

const mirrorConfig = loadConfig({ TOCSIN_MIRROR_URL: 'https://status.example.org' }).mirror;
const FPR = 'B'.repeat(40);

/** One incident whose updates are `fields` in order (revisions 1, 2, ...), accepted a minute apart. */
function incident(slug: string, ...updates: Record<string, unknown>[]): IncidentEntry {
  return {
    id: slug,
    updates: updates.map((fields, i) => {
      const raw = { id: slug, revision: i + 1, kind: 'status', incident: slug, title: 'Mail relay down', summary: 'Email is delayed.', published: '2026-12-02T10:00:00Z', ...fields };
      const doc = advisoryDocumentSchema.parse(raw) as StatusDocument;
      const archived: ArchivedAdvisory = {
        record: { id: slug, revision: i + 1, kind: 'status', title: doc.title, severity: 'none', sha256: '0'.repeat(64), accepted_at: new Date(Date.UTC(2026, 11, 2, 10, i, 0)).toISOString(), publishers: ['A'.repeat(40)], broadcaster_fingerprint: FPR },
        document: documentText(raw),
        publisherSignatures: ['sig'],
        broadcasterSignature: 'sig',
      };
      return { archived, doc };
    }),
  };
}

describe('the status page, by the clock it is built with', () => {
  const promised = '2026-12-02T11:00:00Z';
  const relay = incident('mail-relay', { state: 'investigating', next_update_by: promised });

  it('says the update is overdue once next_update_by has passed with no update, and not before', () => {
    const before = new Date('2026-12-02T10:59:59Z');
    const after = new Date('2026-12-02T11:00:01Z');
    expect(renderStatusPage([relay], mirrorConfig, FPR, before)).toContain(`Next update promised by ${promised}`);
    expect(renderStatusPage([relay], mirrorConfig, FPR, before)).not.toContain('Update overdue');
    expect(renderStatusPage([relay], mirrorConfig, FPR, after)).toContain('Update overdue');
    expect(renderStatusBanner([relay], after)).toContain('(update overdue)');
    expect(renderStatusJson([relay], mirrorConfig, before).incidents[0]).toMatchObject({ overdue: false, next_update_by: promised });
    expect(renderStatusJson([relay], mirrorConfig, after).incidents[0]).toMatchObject({ overdue: true });
    // The instant it falls due is when the mirror must be built again.
    expect(nextPromise([relay], before)?.toISOString()).toBe('2026-12-02T11:00:00.001Z');
    expect(nextPromise([relay], after)).toBeUndefined();
  });

  it('is never overdue once resolved, and shows no banner', () => {
    const resolved = incident('mail-relay', { state: 'investigating', next_update_by: promised }, { state: 'resolved' });
    const after = new Date('2026-12-03T00:00:00Z');
    expect(renderStatusPage([resolved], mirrorConfig, FPR, after)).not.toContain('Update overdue');
    expect(renderStatusBanner([resolved], after)).toBe('');
    expect(nextPromise([resolved], new Date('2026-12-02T10:00:00Z'))).toBeUndefined();
  });

  it('escapes every value a publisher wrote', () => {
    const hostile = incident('xss', { state: 'identified', title: '<img src=x onerror=alert(1)>', summary: '</p><script>x()</script>', affected_services: ['"><b>api'] });
    const page = renderStatusPage([hostile], mirrorConfig, FPR, new Date('2026-12-02T10:00:00Z'));
    const banner = renderStatusBanner([hostile], new Date('2026-12-02T10:00:00Z'));
    for (const html of [page, banner]) {
      expect(html).not.toMatch(/<img|<script|<b>api/);
    }
    expect(page).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(page).toContain('&quot;&gt;&lt;b&gt;api');
  });
});

describe('routing a status update', () => {
  const doc = advisoryDocumentSchema.parse({ id: 'api', revision: 1, kind: 'status', incident: 'api', state: 'monitoring', title: 'API slow', summary: 'Slow.', published: '2026-12-02T10:00:00Z' });
  if (doc.kind !== 'status') throw new Error('not a status');

  it('is left out only by a filter whose kinds do not list status', () => {
    expect(matchesFilter(undefined, doc)).toBe(true);
    expect(matchesFilter({ kinds: ['status'] }, doc)).toBe(true);
    expect(matchesFilter({ kinds: ['advisory', 'mitigation'] }, doc)).toBe(false);
    // No severity, no products: those parts of a filter do not apply to it.
    expect(matchesFilter({ min_severity: 'critical', products: ['acme-server'] }, doc)).toBe(true);
  });
});
