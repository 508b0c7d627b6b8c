import type { ArchivedAdvisory } from '../advisory/record';
import type { BulletinDocument, RetractionDocument } from '../advisory/schema';

/** One signed retraction revision, as the mirror shows it. */
export interface MirrorRetraction {
  archived: ArchivedAdvisory;
  doc: RetractionDocument;
}

/** One advisory as the mirror shows it: every public revision, oldest first (see release/public-view.ts). */
export interface MirrorEntry {
  id: string;
  revisions: { archived: ArchivedAdvisory; doc: BulletinDocument }[];
  /** The retraction that withdrew it, when one did: the advisory stays, marked withdrawn. */
  withdrawn?: MirrorRetraction | undefined;
}

/** A retraction's own id with its revisions, oldest first, and the advisory it withdraws. */
export interface RetractionEntry {
  id: string;
  retracts: string;
  revisions: MirrorRetraction[];
}

export function latestOf(entry: MirrorEntry) {
  return entry.revisions[entry.revisions.length - 1]!;
}

export function firstOf(entry: MirrorEntry) {
  return entry.revisions[0]!;
}

/** When tocsin last changed this advisory: the acceptance of its latest revision, or of its withdrawal. */
export function updatedAt(entry: MirrorEntry): string {
  return (entry.withdrawn ?? latestOf(entry)).archived.record.accepted_at;
}

/** Newest change first; ties broken by id so that two builds order alike. */
export function newestFirst(a: MirrorEntry, b: MirrorEntry): number {
  return updatedAt(b).localeCompare(updatedAt(a)) || a.id.localeCompare(b.id);
}

/** RFC 3339 in UTC with a Z, the only form OSV accepts. */
export function utc(time: string): string {
  return new Date(time).toISOString();
}
