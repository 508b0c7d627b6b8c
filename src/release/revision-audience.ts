import type { AdvisoryDocument } from '../advisory/schema';
import { channelNames } from '../channels/channel-names';
import type { Recipient } from '../recipients/recipient';
import type { AdvisoryArchive, Audience } from '../storage/advisory-archive';
import { clearedFor, drilled, labelled, receives, type RoutedDocument } from './routing';

/** Recipient ids per channel, every channel named, each list sorted: the form audience.json records. */
function audienceOf(recipients: readonly Recipient[]): Audience {
  return Object.fromEntries(channelNames.map((c) => [c, recipients.filter((r) => r.type === c).map((r) => r.id).sort()]));
}

const idsIn = (audience: Audience) => new Set(Object.values(audience).flat());

/** Everyone any archived revision of `id` was sent to (before `below`, when given). */
export async function receiversOf(archive: AdvisoryArchive, id: string, below = Infinity): Promise<Set<string>> {
  const out = new Set<string>();
  for (const revision of await archive.revisions(id)) {
    if (revision >= below) continue;
    for (const r of idsIn(await archive.audience({ id, revision }))) out.add(r);
  }
  return out;
}

/**
 * Whom a revision goes to at acceptance. An advisory or mitigation note: everyone routing lets
 * receive it (under an embargo, only its audience groups), and everyone who received an earlier
 * revision and is still cleared for its label, whatever their filter says now. A retraction:
 * exactly those who received any revision of what it withdraws, on every channel. A drill:
 * everyone it names (release/routing.ts `drilled`), whatever their filters say.
 */
export function admissionAudience(doc: AdvisoryDocument, recipients: readonly Recipient[], earlier: ReadonlySet<string>, embargoed: boolean): Audience {
  if (doc.kind === 'retraction') return audienceOf(recipients.filter((r) => earlier.has(r.id)));
  if (doc.kind === 'drill') return audienceOf(recipients.filter((r) => drilled(r, doc)));
  return audienceOf(recipients.filter((r) => receives(r, doc, { embargoed }) || (earlier.has(r.id) && clearedFor(r, labelled(doc), { embargoed }))));
}

/** Whom a revision goes to when its embargo ends: everyone meant for it who was not told under it. */
export function releaseAudience(doc: RoutedDocument, recipients: readonly Recipient[], told: Audience): Audience {
  const already = idsIn(told);
  return audienceOf(recipients.filter((r) => !already.has(r.id) && receives(r, doc, { embargoed: false })));
}
