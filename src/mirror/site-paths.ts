import type { MirrorEntry } from './mirror-entry';
import { firstOf } from './mirror-entry';

/**
 * Where each file lives in the site, relative to its root. Advisory ids are limited to
 * `A-Z a-z 0-9 . _ -` and start with a letter or digit, so they are safe as path segments.
 */
export const sitePaths = {
  index: 'index.html',
  verify: 'verify.html',
  atom: 'feed.atom',
  /** Incident status (kind `status`): the page, its JSON and its own Atom feed. */
  status: 'status.html',
  statusJson: 'status.json',
  statusAtom: 'status.atom',
  broadcasterKey: 'broadcaster.asc',
  /** An earlier broadcaster key (retired by a rotation, or revoked), for checking what it signed. */
  earlierKey: (fingerprint: string) => `keys/${fingerprint}.asc`,
  revisionDir: (id: string, revision: number) => `advisories/${id}/${revision}`,
  document: (id: string, revision: number) => `advisories/${id}/${revision}/${id}.json`,
  publisherSignature: (id: string, revision: number, n: number) => `advisories/${id}/${revision}/${id}.json.publisher-${n}.asc`,
  osv: (id: string) => `osv/${id}.json`,
  csafRoot: '.well-known/csaf',
  providerMetadata: '.well-known/csaf/provider-metadata.json',
  /** TLP:CLEAR is TLP 2.0's name for TLP:WHITE; CSAF 2.0 knows only WHITE, hence the folder name. */
  csafDistribution: '.well-known/csaf/white',
  rolieFeed: '.well-known/csaf/white/feed-tlp-white.json',
  csafKey: (fingerprint: string) => `.well-known/csaf/openpgp/${fingerprint}.asc`,
};

/**
 * CSAF's file name rule (section 5.1): the tracking id in lowercase, every run of characters
 * outside `+ - a-z 0-9` replaced by one `_`, then `.json`.
 */
export function csafFileName(trackingId: string): string {
  return `${trackingId.toLowerCase().replace(/[^+\-a-z0-9]+/g, '_')}.json`;
}

/**
 * Which id owns each CSAF file name that several ids share (ids differing only in case, or in
 * `.` and `_`): the one accepted first, ties by id in code-point order. So a later id can never
 * take over an earlier one's CSAF and OSV files, whatever their sort order. Intake refuses such
 * ids; this guards archives from before it did.
 */
export function csafOwners(entries: readonly MirrorEntry[]): Map<string, string> {
  const acceptedAt = (e: MirrorEntry) => firstOf(e).archived.record.accepted_at;
  const byAcceptance = [...entries].sort((a, b) => acceptedAt(a).localeCompare(acceptedAt(b)) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const owners = new Map<string, string>();
  for (const e of byAcceptance) if (!owners.has(csafFileName(e.id))) owners.set(csafFileName(e.id), e.id);
  return owners;
}

/** The year folder comes from the initial release date, so a later revision never moves the file. */
export function csafRelativePath(entry: MirrorEntry): string {
  const year = new Date(firstOf(entry).archived.record.accepted_at).getUTCFullYear();
  return `${year}/${csafFileName(entry.id)}`;
}

export function csafPath(entry: MirrorEntry): string {
  return `${sitePaths.csafDistribution}/${csafRelativePath(entry)}`;
}

export function absolute(baseUrl: string, relative: string): string {
  return `${baseUrl}/${relative}`;
}
