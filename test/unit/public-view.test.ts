import { publicView, type ViewedRecord } from '../../src/release/public-view';

const at = (iso: string) => new Date(iso);
/** A record accepted at `accepted_at`; everything else as given. */
const rec = (fields: Partial<ViewedRecord> & { id: string; accepted_at: string }): ViewedRecord => ({ revision: 1, kind: 'advisory', ...fields });
const shown = (records: ViewedRecord[], now: string, id: string) => publicView(records, at(now)).revisions(id).map((r) => r.revision);

describe('the public view of the archive', () => {
  it('shows a CLEAR revision, and never a GREEN, AMBER or AMBER+STRICT one', () => {
    const records = [
      rec({ id: 'CLEAR-1', accepted_at: '2026-12-01T10:00:00Z' }),
      rec({ id: 'CLEAR-2', accepted_at: '2026-12-01T10:00:00Z', tlp: 'CLEAR' }),
      ...(['GREEN', 'AMBER', 'AMBER+STRICT'] as const).map((tlp) => rec({ id: tlp, accepted_at: '2026-12-01T10:00:00Z', tlp })),
    ];
    const view = publicView(records, at('2027-01-01T00:00:00Z'));
    expect(['CLEAR-1', 'CLEAR-2', 'GREEN', 'AMBER', 'AMBER+STRICT'].map((id) => view.revisions(id).length)).toEqual([1, 1, 0, 0, 0]);
    expect(view.isPublic({ id: 'AMBER', revision: 1 })).toBe(false);
  });

  it('hides an embargoed revision until the embargo ends, to the millisecond, and says when that is', () => {
    const records = [rec({ id: 'E', accepted_at: '2026-12-01T10:00:00Z', embargo_until: '2026-12-02T11:00:00+01:00', })];
    expect(shown(records, '2026-12-02T09:59:59.999Z', 'E')).toEqual([]);
    expect(publicView(records, at('2026-12-02T09:59:59.999Z')).nextChange).toEqual(at('2026-12-02T10:00:00Z'));
    expect(shown(records, '2026-12-02T10:00:00Z', 'E')).toEqual([1]);
    expect(publicView(records, at('2026-12-02T10:00:00Z')).nextChange).toBeUndefined();
  });

  it('keeps an embargo that a later revision extended, and ends it early when one moves it earlier', () => {
    const first = rec({ id: 'X', revision: 1, accepted_at: '2026-12-01T10:00:00Z', embargo_until: '2026-12-03T00:00:00Z' });
    const later = rec({ id: 'X', revision: 2, accepted_at: '2026-12-02T00:00:00Z', embargo_until: '2026-12-05T00:00:00Z' });
    expect(shown([first, later], '2026-12-04T00:00:00Z', 'X')).toEqual([]);
    expect(shown([first, later], '2026-12-05T00:00:00Z', 'X')).toEqual([1, 2]);
    const earlier = rec({ id: 'X', revision: 2, accepted_at: '2026-12-02T00:00:00Z', embargo_until: '2026-12-02T00:00:00Z' });
    // The new revision is public at once; the first, superseded, at its own embargo's end (publiclyVisible).
    expect(shown([first, earlier], '2026-12-02T00:00:01Z', 'X')).toEqual([2]);
    expect(shown([first, earlier], '2026-12-03T00:00:00Z', 'X')).toEqual([1, 2]);
  });

  it('keeps what was already public when a later revision comes under embargo or above CLEAR, and hides only that revision', () => {
    const open = rec({ id: 'P', revision: 1, accepted_at: '2026-12-01T10:00:00Z' });
    const embargoed = rec({ id: 'P', revision: 2, accepted_at: '2026-12-02T00:00:00Z', embargo_until: '2026-12-09T00:00:00Z' });
    expect(shown([open, embargoed], '2026-12-03T00:00:00Z', 'P')).toEqual([1]);
    expect(shown([open, embargoed], '2026-12-09T00:00:00Z', 'P')).toEqual([1, 2]);
    const amber = rec({ id: 'P', revision: 2, accepted_at: '2026-12-02T00:00:00Z', tlp: 'AMBER' });
    expect(shown([open, amber], '2027-01-01T00:00:00Z', 'P')).toEqual([1]);
    // A revision whose embargo ended before the next was accepted had been public: it stays so.
    const ended = rec({ id: 'Q', revision: 1, accepted_at: '2026-12-01T00:00:00Z', embargo_until: '2026-12-01T12:00:00Z' });
    const reEmbargoed = rec({ id: 'Q', revision: 2, accepted_at: '2026-12-02T00:00:00Z', embargo_until: '2026-12-09T00:00:00Z' });
    expect(shown([ended, reEmbargoed], '2026-12-03T00:00:00Z', 'Q')).toEqual([1]);
  });

  it('shows a revision dated after now (the clock stepped back since) as at now: a clock step does not unpublish', () => {
    const records = [rec({ id: 'F', accepted_at: '2026-12-05T00:00:00Z' }), rec({ id: 'F', revision: 2, accepted_at: '2026-12-06T00:00:00Z' })];
    expect(shown(records, '2026-12-01T00:00:00Z', 'F')).toEqual([1, 2]);
  });

  it('shows a retraction only of an advisory the public saw, and withdraws what was not yet public for good', () => {
    const advisory = rec({ id: 'A', accepted_at: '2026-12-01T10:00:00Z' });
    const retraction = rec({ id: 'A-R', kind: 'retraction', retracts: 'A', accepted_at: '2026-12-02T10:00:00Z' });
    const view = publicView([advisory, retraction], at('2026-12-03T00:00:00Z'));
    expect(view.revisions('A').map((r) => r.id)).toEqual(['A']);
    expect(view.withdrawal('A')?.id).toBe('A-R');
    expect(view.isPublic({ id: 'A-R', revision: 1 })).toBe(true);

    const secret = rec({ id: 'S', accepted_at: '2026-12-01T10:00:00Z', tlp: 'AMBER' });
    const ofSecret = rec({ id: 'S-R', kind: 'retraction', retracts: 'S', accepted_at: '2026-12-02T10:00:00Z' });
    const embargoed = rec({ id: 'E', accepted_at: '2026-12-01T10:00:00Z', embargo_until: '2026-12-05T00:00:00Z' });
    const ofEmbargoed = rec({ id: 'E-R', kind: 'retraction', retracts: 'E', accepted_at: '2026-12-02T10:00:00Z' });
    const unknown = rec({ id: 'U-R', kind: 'retraction', retracts: 'NOBODY', accepted_at: '2026-12-02T10:00:00Z' });
    const later = publicView([secret, ofSecret, embargoed, ofEmbargoed, unknown], at('2026-12-10T00:00:00Z'));
    for (const id of ['S', 'S-R', 'E', 'E-R', 'U-R']) expect({ id, shown: later.revisions(id).length }).toEqual({ id, shown: 0 });
    expect(later.withdrawal('E')).toBeUndefined();
  });
});
