import type { BulletinDocument, DrillDocument, Severity, StatusDocument } from '../advisory/schema';
import { severities } from '../advisory/schema';
import { tlpAllows, tlpOf, type Tlp } from '../advisory/tlp';
import type { Recipient, RecipientFilter } from '../recipients/recipient';
import { isActive } from '../recipients/recipient-status';

/** The documents routed by their own fields: advisories, mitigation notes and incident status updates. */
export type RoutedDocument = BulletinDocument | StatusDocument;

/**
 * Who receives a revision of an advisory or mitigation note (coordinated disclosure): a recipient
 * cleared for its TLP label, whose filter it matches, and, while its embargo runs, in one of its
 * audience groups. A status update is public and never embargoed: everyone whose filter keeps the
 * kind `status`. Retractions are routed by what was received, not by this (see the release step).
 */
export function receives(recipient: Recipient, doc: RoutedDocument, o: { embargoed: boolean }): boolean {
  if (!clearedFor(recipient, labelled(doc), o)) return false;
  if (!matchesFilter(recipient.filter, doc)) return false;
  if (o.embargoed) return (recipient.groups ?? []).some((g) => (doc.kind !== 'status' && doc.audience?.includes(g)) ?? false);
  return true;
}

/** A status update carries no label: it is TLP:CLEAR. */
export const labelled = (doc: RoutedDocument): { tlp?: Tlp | undefined } => (doc.kind === 'status' ? {} : { tlp: doc.tlp });

/**
 * The gate of what may be shared at all: the recipient is active (not bounced dead), cleared for the label, and a Mastodon
 * post, being public, carries nothing labelled and nothing under embargo, whatever its groups say.
 * An update goes to earlier receivers through this gate even when their filter no longer matches:
 * they must learn that what they were told has changed.
 */
export function clearedFor(recipient: Recipient, doc: { tlp?: Tlp | undefined }, o: { embargoed: boolean }): boolean {
  // An address that keeps hard-bouncing is dead: more mail to it, updates included, only hurts the relays' reputation.
  if (!isActive(recipient)) return false;
  if (!tlpAllows(recipient.tlp ?? 'CLEAR', tlpOf(doc))) return false;
  return recipient.type !== 'mastodon' || (tlpOf(doc) === 'CLEAR' && !o.embargoed);
}

/**
 * Who a drill reaches: it tests reach, so no filter (products, severity, kinds) narrows it; only
 * the channels and the group the drill itself names, when it names them. It is TLP:CLEAR and never
 * embargoed, so every active recipient is cleared for it.
 */
export function drilled(recipient: Recipient, doc: DrillDocument): boolean {
  if (!isActive(recipient)) return false;
  if (doc.channels && !doc.channels.includes(recipient.type)) return false;
  if (doc.group !== undefined && !(recipient.groups ?? []).includes(doc.group)) return false;
  return true;
}

/**
 * True when `doc` passes every part of `filter` that is given. A status update has no severity or
 * products: only `kinds` can leave it out.
 */
export function matchesFilter(filter: RecipientFilter | undefined, doc: RoutedDocument): boolean {
  if (!filter) return true;
  if (filter.kinds && !filter.kinds.includes(doc.kind)) return false;
  if (doc.kind === 'status') return true;
  if (filter.min_severity && rank(doc.severity) < rank(filter.min_severity)) return false;
  if (filter.products && !doc.affected.some((a) => filter.products!.some((p) => productMatches(p, a)))) return false;
  return true;
}

/** `none` is 0, `critical` 4. */
const rank = (s: Severity) => severities.length - 1 - severities.indexOf(s);

/**
 * A filter's product names an affected entry by its product name (case aside), or by its purl:
 * `pkg:npm/acme-server` matches `pkg:npm/acme-server@2.3.1?arch=x86` and the purl itself.
 */
function productMatches(wanted: string, affected: { product: string; purl?: string | undefined }): boolean {
  if (wanted.toLowerCase() === affected.product.toLowerCase()) return true;
  if (!affected.purl || !wanted.startsWith('pkg:')) return false;
  const purl = affected.purl;
  if (purl === wanted) return true;
  return purl.startsWith(wanted) && /^[@?#]/.test(purl.slice(wanted.length));
}
