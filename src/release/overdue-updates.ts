import type { AdvisoryArchive } from '../storage/advisory-archive';

/** An open incident whose latest update promised another by `promised`, which has not come. */
export interface OverdueUpdate {
  incident: string;
  revision: number;
  promised: string;
}

/**
 * The open incidents (kind `status`, latest state not `resolved`) whose latest update's
 * `next_update_by` has passed at `now` (tocsin's clock): people were promised news and have none,
 * which an operator should hear of before they do.
 */
export async function overdueUpdates(archive: Pick<AdvisoryArchive, 'records' | 'get'>, now: Date): Promise<OverdueUpdate[]> {
  const latest = new Map<string, number>();
  for (const r of await archive.records()) {
    if (r.kind === 'status' && r.revision > (latest.get(r.id) ?? 0)) latest.set(r.id, r.revision);
  }
  const out: OverdueUpdate[] = [];
  for (const [id, revision] of [...latest].sort(([a], [b]) => a.localeCompare(b))) {
    const archived = await archive.get({ id, revision });
    if (!archived) continue;
    const doc = JSON.parse(archived.document) as { state?: string; next_update_by?: string };
    if (doc.state === 'resolved' || doc.next_update_by === undefined) continue;
    if (Date.parse(doc.next_update_by) < now.getTime()) out.push({ incident: id, revision, promised: doc.next_update_by });
  }
  return out;
}

/** The /readyz warning for them, or undefined when none is overdue. */
export function overdueWarning(overdue: readonly OverdueUpdate[]): string | undefined {
  if (overdue.length === 0) return undefined;
  return `${overdue.map((o) => `${o.incident} (update promised by ${o.promised})`).join(', ')}: overdue; post an update (tocsin status post), even to say nothing has changed`;
}
