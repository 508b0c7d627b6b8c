import { tlpLabels, type Tlp } from '../../src/advisory/tlp';
import type { AdvisoryDocument, BulletinDocument } from '../../src/advisory/schema';
import type { Recipient } from '../../src/recipients/recipient';
import { admissionAudience, releaseAudience } from '../../src/release/revision-audience';

/** Only what routing reads; the rest of a recipient does not matter here. */
const recipient = (id: string, type: Recipient['type'], extra: Partial<Pick<Recipient, 'tlp' | 'groups' | 'filter'>> = {}) => ({ id, type, ...extra }) as Recipient;

const doc = (extra: Partial<BulletinDocument> = {}): BulletinDocument =>
  ({
    id: 'ACME-1',
    revision: 1,
    kind: 'advisory',
    title: 't',
    severity: 'critical',
    summary: 's',
    published: '2026-12-02T10:00:00Z',
    affected: [{ product: 'acme-server', versions: '<2' }],
    cves: [],
    mitigations: [],
    references: [],
    ...extra,
  }) as BulletinDocument;

const ids = (audience: Record<string, string[]>) => Object.values(audience).flat().sort();
const none = new Set<string>();

describe('revision audience', () => {
  it('routes every TLP label to the recipients cleared for it, and only CLEAR to Mastodon', async () => {
    const everyone = tlpLabels.flatMap((t) => [recipient(`hook-${t}`, 'webhook', { tlp: t }), recipient(`mail-${t}`, 'email', { tlp: t })]);
    const mastodon = recipient('toot', 'mastodon');
    for (const [i, label] of tlpLabels.entries()) {
      const cleared = tlpLabels.slice(i).flatMap((t: Tlp) => [`hook-${t}`, `mail-${t}`]);
      const expected = [...cleared, ...(label === 'CLEAR' ? ['toot'] : [])].sort();
      expect(ids(await admissionAudience(doc({ tlp: label }), [...everyone, mastodon], none, false))).toEqual(expected);
    }
  });

  it('under the embargo: the audience groups only, never Mastodon; at release: the rest, not those told', async () => {
    const partner = recipient('partner', 'webhook', { groups: ['distros'] });
    const cloud = recipient('cloud', 'webhook', { groups: ['cloud'] });
    const pub = recipient('public', 'email');
    const toot = recipient('toot', 'mastodon', { groups: ['distros'] });
    const d = doc({ embargo_until: '2026-12-09T00:00:00Z', audience: ['distros'] });
    const told = await admissionAudience(d, [partner, cloud, pub, toot], none, true);
    expect(ids(told)).toEqual(['partner']);
    expect(ids(await releaseAudience(d, [partner, cloud, pub, toot], told))).toEqual(['cloud', 'public', 'toot']);
  });

  it('an update reaches earlier receivers still cleared for it whatever their filter, plus the newly matched', async () => {
    const strict = recipient('strict', 'webhook', { filter: { min_severity: 'critical' } });
    const widget = recipient('widget', 'webhook', { filter: { products: ['acme-widget'] } });
    const clearOnly = recipient('clear-only', 'webhook');
    const toot = recipient('toot', 'mastodon');
    const earlier = new Set(['strict', 'clear-only', 'toot']);
    const update = doc({ revision: 2, severity: 'low', affected: [{ product: 'acme-widget', versions: '<1' }] });
    expect(ids(await admissionAudience(update, [strict, widget, clearOnly, toot], earlier, false))).toEqual(['clear-only', 'strict', 'toot', 'widget']);
    expect(ids(await admissionAudience({ ...update, tlp: 'GREEN' }, [strict, widget, clearOnly, toot], earlier, false))).toEqual([]);
    // Under an embargo an earlier receiver still hears of the update, except on a public channel.
    const embargoed = { ...update, embargo_until: '2026-12-09T00:00:00Z', audience: ['distros'] };
    expect(ids(await admissionAudience(embargoed, [strict, widget, clearOnly, toot], earlier, true))).toEqual(['clear-only', 'strict']);
  });

  it('a retraction reaches exactly the earlier receivers, filters and labels aside', async () => {
    const filtered = recipient('filtered', 'slack', { filter: { products: ['nothing'] } });
    const toot = recipient('toot', 'mastodon');
    const late = recipient('late', 'webhook');
    const retraction = { id: 'R-1', revision: 1, kind: 'retraction', retracts: 'ACME-1', title: 't', summary: 's', published: '2026-12-02T10:00:00Z' } as AdvisoryDocument;
    expect(ids(await admissionAudience(retraction, [filtered, toot, late], new Set(['filtered', 'toot', 'gone']), false))).toEqual(['filtered', 'toot']);
  });
});
