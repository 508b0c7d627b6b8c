import { tlpOf, type Tlp } from '../advisory/tlp';

/** What the disclosure state of a revision depends on: its record's fields. */
export interface DisclosureFields {
  tlp?: Tlp | undefined;
  embargo_until?: string | undefined;
}

/** True while `record`'s embargo has not ended by tocsin's own clock (UTC). */
export function embargoActive(record: DisclosureFields, now: Date): boolean {
  return record.embargo_until !== undefined && Date.parse(record.embargo_until) > now.getTime();
}

/**
 * Whether anyone may see a revision without the admin token: the mirror, the public API reads,
 * feeds. Its own label must be CLEAR, and the id's embargo, which the latest accepted revision
 * sets (a later revision may extend it), must be over. Embargo or not, a revision labelled above
 * CLEAR is never public.
 */
export function publiclyVisible(revision: DisclosureFields, latestOfId: DisclosureFields, now: Date): boolean {
  return tlpOf(revision) === 'CLEAR' && !embargoActive(latestOfId, now) && !embargoActive(revision, now);
}
