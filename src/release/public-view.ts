import type { DocumentKind } from '../advisory/schema';
import { publiclyVisible, type DisclosureFields } from './disclosure';

/** What the public view of the archive reads of each archived revision: its record's fields. */
export interface ViewedRecord extends DisclosureFields {
  id: string;
  revision: number;
  kind: DocumentKind;
  accepted_at: string;
  /** A retraction's withdrawn advisory id. */
  retracts?: string | undefined;
}

/** What anyone may see of the archive at one instant; the admin API sees everything. */
export interface PublicView<R extends ViewedRecord> {
  /** The public revisions of `id`, lowest first; empty for an id the public may not know of. */
  revisions(id: string): R[];
  isPublic(ref: { id: string; revision: number }): boolean;
  /** The first public retraction of `id`, when it is withdrawn. */
  withdrawal(id: string): R | undefined;
  /** The next instant the view changes by the clock alone (an embargo ending), if any. */
  nextChange: Date | undefined;
}

const time = (iso: string | undefined) => (iso === undefined ? -Infinity : Date.parse(iso));

/**
 * The revisions of one id that have been public at some instant up to `until`: once public,
 * always public, since what the public was shown cannot be taken back. A revision is public at an
 * instant when it is labelled CLEAR, its own embargo is over and so is that of the latest revision
 * accepted by then (a later revision may extend the id's embargo before it ends, or embargo an
 * update without un-publishing what came before it). `revisions` are one id's, lowest first.
 */
export function everPublic<R extends ViewedRecord>(revisions: readonly R[], until: number): R[] {
  return revisions.filter((r, i) => {
    // While revision k was the latest, from its acceptance to the next one's (or `until`): the
    // first instant r could be visible then is when both embargoes are over.
    // An acceptance dated after `until` (a clock stepped back since) counts as at `until`: a
    // clock's step must not hide what was published.
    const accepted = (x: R) => Math.min(time(x.accepted_at), until);
    for (let k = i; k < revisions.length; k += 1) {
      const latest = revisions[k]!;
      const end = Math.min(k + 1 < revisions.length ? accepted(revisions[k + 1]!) : Infinity, until);
      const from = Math.max(accepted(latest), time(latest.embargo_until), time(r.embargo_until));
      if (from <= end && publiclyVisible(r, latest, new Date(from))) return true;
    }
    return false;
  });
}

/**
 * The public view of an archive at `now` (tocsin's own UTC clock), built from every archived
 * record. Advisories and mitigation notes show the revisions {@link everPublic} allows. A
 * retraction is public exactly when the advisory it withdraws had been public before it: a
 * retraction of an advisory the public never saw would name it. Withdrawing also ends an
 * embargo's promise: a revision not yet public when the retraction was accepted never becomes so.
 */
export function publicView<R extends ViewedRecord>(records: readonly R[], now: Date): PublicView<R> {
  const byId = new Map<string, R[]>();
  // A drill is a rehearsal: never in the mirror, its feeds or public reads, whoever it reached.
  for (const r of records) if (r.kind !== 'drill') byId.set(r.id, [...(byId.get(r.id) ?? []), r]);
  for (const list of byId.values()) list.sort((a, b) => a.revision - b.revision);

  const retractionsOf = new Map<string, R[]>();
  for (const r of records) {
    if (r.kind !== 'retraction' || r.retracts === undefined) continue;
    retractionsOf.set(r.retracts, [...(retractionsOf.get(r.retracts) ?? []), r]);
  }
  const firstRetraction = (id: string) => retractionsOf.get(id)?.slice().sort((a, b) => time(a.accepted_at) - time(b.accepted_at))[0];

  const bulletins = new Map<string, R[]>();
  const withdrawals = new Map<string, R>();
  for (const [id, list] of byId) {
    if (list.some((r) => r.kind === 'retraction')) continue;
    const retraction = firstRetraction(id);
    const until = Math.min(now.getTime(), retraction ? time(retraction.accepted_at) : Infinity);
    const shown = everPublic(list, until);
    if (shown.length === 0) continue;
    bulletins.set(id, shown);
    if (retraction) withdrawals.set(id, retraction);
  }
  const shownRetractions = new Map<string, R[]>();
  for (const [id, list] of byId) {
    const target = list[0]!.retracts;
    if (list.every((r) => r.kind === 'retraction') && target !== undefined && bulletins.has(target)) shownRetractions.set(id, list);
  }

  // The earliest embargo end still ahead among revisions not shown: when a rebuild shows more.
  let next = Infinity;
  for (const r of records) {
    const end = time(r.embargo_until);
    if (end > now.getTime() && end < next) next = end;
  }

  const revisionsOf = (id: string) => bulletins.get(id) ?? shownRetractions.get(id) ?? [];
  return {
    revisions: revisionsOf,
    isPublic: (ref) => revisionsOf(ref.id).some((r) => r.revision === ref.revision),
    withdrawal: (id) => withdrawals.get(id),
    nextChange: Number.isFinite(next) ? new Date(next) : undefined,
  };
}
