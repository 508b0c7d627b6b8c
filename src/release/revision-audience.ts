import type { AdvisoryDocument } from '../advisory/schema';
import { channelNames } from '../channels/channel-names';
import type { Recipient } from '../recipients/recipient';
import type { AdvisoryArchive, Audience } from '../storage/advisory-archive';
import { clearedFor, drilled, labelled, receives, type RoutedDocument } from './routing';

/** The recipients to route: a directory streams them, a test may hand an array. */
export type Recipients = AsyncIterable<Recipient> | Iterable<Recipient>;

/**
 * The ids of the recipients `chosen` picks, per channel, every channel named, each list sorted:
 * the form audience.json records. Only the ids are kept, never the recipients.
 */
async function audienceOf(recipients: Recipients, chosen: (r: Recipient) => boolean): Promise<Audience> {
  const ids: Record<string, string[]> = Object.fromEntries(channelNames.map((c) => [c, []]));
  for await (const r of recipients) if (chosen(r)) ids[r.type]!.push(r.id);
  for (const list of Object.values(ids)) list.sort();
  return ids;
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
export function admissionAudience(doc: AdvisoryDocument, recipients: Recipients, earlier: ReadonlySet<string>, embargoed: boolean): Promise<Audience> {
  if (doc.kind === 'retraction') return audienceOf(recipients, (r) => earlier.has(r.id));
  if (doc.kind === 'drill') return audienceOf(recipients, (r) => drilled(r, doc));
  return audienceOf(recipients, (r) => receives(r, doc, { embargoed }) || (earlier.has(r.id) && clearedFor(r, labelled(doc), { embargoed })));
}

/** Whom a revision goes to when its embargo ends: everyone meant for it who was not told under it. */
export function releaseAudience(doc: RoutedDocument, recipients: Recipients, told: Audience): Promise<Audience> {
  const already = idsIn(told);
  return audienceOf(recipients, (r) => !already.has(r.id) && receives(r, doc, { embargoed: false }));
}
