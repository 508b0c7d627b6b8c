import type { AdvisoryRecord, ArchivedAdvisory } from '../advisory/record';
import type { NoticeVariant } from '../notices/notice-variant';
import type { AdvisoryArchive, Audience } from '../storage/advisory-archive';
import type { NoticeStage } from './jobs';

/** One notice of a revision and the recipients it goes to. */
export interface DeliveryStage {
  /** Absent: the ordinary notice. */
  stage?: NoticeStage;
  audience: Audience;
  variant: NoticeVariant;
}

/**
 * True when the revision was accepted before its embargo's end, so that its accepted audience
 * (audience.json) was the embargo's and everyone else waits for the release. An embargo already
 * over at acceptance (a held submission signed late, say) made an ordinary publish. Read from the
 * record alone, so every process and every restart agrees.
 */
export function heldForEmbargo(record: Pick<AdvisoryRecord, 'embargo_until' | 'accepted_at'>): record is { embargo_until: string; accepted_at: string } {
  return record.embargo_until !== undefined && Date.parse(record.accepted_at) < Date.parse(record.embargo_until);
}

/** The latest archived revision before this one, which an update's notices compare against. */
export async function previousRevision(archive: AdvisoryArchive, record: AdvisoryRecord): Promise<NoticeVariant['previous']> {
  const earlier = (await archive.revisions(record.id)).filter((r) => r < record.revision).at(-1);
  if (earlier === undefined) return undefined;
  const archived = await archive.get({ id: record.id, revision: earlier });
  return archived ? { revision: earlier, document: archived.document } : undefined;
}

/**
 * The notices of a revision as the archive records them, and whom each goes to: one ordinary
 * stage; or, under an embargo, the embargoed stage (its audience) and, once released, the ordinary
 * one (those the release added). What was queued at acceptance or release is queued again from
 * this after a Redis loss, with the same variant and so the same notice. `accepted`: the audience
 * just archived, when the caller holds it (at 100,000 recipients, reading it back is a second
 * copy of every id).
 */
export async function deliveryStages(archive: AdvisoryArchive, archived: ArchivedAdvisory, accepted?: Audience): Promise<DeliveryStage[]> {
  const { record } = archived;
  const previous = await previousRevision(archive, record);
  const update: NoticeVariant = previous ? { previous } : {};
  accepted ??= await archive.acceptedAudience(record);
  if (!heldForEmbargo(record)) return [{ audience: accepted, variant: update }];
  const stages: DeliveryStage[] = [{ stage: 'embargoed', audience: accepted, variant: { ...update, embargoedUntil: record.embargo_until } }];
  const release = await archive.releaseOf(record);
  if (release) stages.push({ audience: release.audience, variant: update });
  return stages;
}
