import type { ArchivedAdvisory } from '../advisory/record';
import type { BulletinDocument } from '../advisory/schema';

/** One advisory as the mirror shows it: every archived revision, oldest first. */
export interface MirrorEntry {
  id: string;
  revisions: { archived: ArchivedAdvisory; doc: BulletinDocument }[];
}

export function latestOf(entry: MirrorEntry) {
  return entry.revisions[entry.revisions.length - 1]!;
}

export function firstOf(entry: MirrorEntry) {
  return entry.revisions[0]!;
}

/** When tocsin last changed this advisory: the acceptance of its latest revision. */
export function updatedAt(entry: MirrorEntry): string {
  return latestOf(entry).archived.record.accepted_at;
}

/** Newest change first; ties broken by id so that two builds order alike. */
export function newestFirst(a: MirrorEntry, b: MirrorEntry): number {
  return updatedAt(b).localeCompare(updatedAt(a)) || a.id.localeCompare(b.id);
}

/** RFC 3339 in UTC with a Z, the only form OSV accepts. */
export function utc(time: string): string {
  return new Date(time).toISOString();
}
