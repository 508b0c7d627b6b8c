import type { ArchivedAdvisory } from '../advisory/record';
import type { StatusDocument } from '../advisory/schema';

/** One signed status update, as the mirror shows it. */
export interface IncidentUpdate {
  archived: ArchivedAdvisory;
  doc: StatusDocument;
}

/** One incident (kind `status`): its id is its slug, its updates are the id's revisions, oldest first. */
export interface IncidentEntry {
  id: string;
  updates: IncidentUpdate[];
}

export function latestUpdate(incident: IncidentEntry): IncidentUpdate {
  return incident.updates[incident.updates.length - 1]!;
}

/** Open until its latest update says `resolved`; a later update may open it again. */
export function isOpen(incident: IncidentEntry): boolean {
  return latestUpdate(incident).doc.state !== 'resolved';
}

/**
 * The update the latest revision promised, when that promise has passed unkept at `now`: the
 * page says so rather than show the old promise as if it still stood.
 */
export function overdueSince(incident: IncidentEntry, now: Date): string | undefined {
  const promised = latestUpdate(incident).doc.next_update_by;
  if (!isOpen(incident) || promised === undefined) return undefined;
  return Date.parse(promised) < now.getTime() ? promised : undefined;
}

/** When the pages would change by the clock alone: the earliest promise still ahead of `now`. */
export function nextPromise(incidents: readonly IncidentEntry[], now: Date): Date | undefined {
  const ahead = incidents
    .filter(isOpen)
    .map((i) => latestUpdate(i).doc.next_update_by)
    .filter((t): t is string => t !== undefined && Date.parse(t) >= now.getTime())
    .map((t) => Date.parse(t));
  // A millisecond after the promise: the first instant it is overdue.
  return ahead.length > 0 ? new Date(Math.min(...ahead) + 1) : undefined;
}

/** Open incidents first, then resolved; within each, the latest update first, ties by id. */
export function incidentOrder(a: IncidentEntry, b: IncidentEntry): number {
  return Number(isOpen(b)) - Number(isOpen(a)) || latestUpdate(b).archived.record.accepted_at.localeCompare(latestUpdate(a).archived.record.accepted_at) || a.id.localeCompare(b.id);
}
