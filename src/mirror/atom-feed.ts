import type { MirrorConfig } from '../config';
import { atomEntry, atomFeed } from './atom-xml';
import { latestOf, newestFirst, updatedAt, type MirrorEntry } from './mirror-entry';
import { absolute, sitePaths } from './site-paths';

/**
 * An Atom feed (RFC 4287) of the latest revision of every advisory, newest first. Each entry's
 * id names the revision, so a feed reader shows a new revision as a new entry. A withdrawn
 * advisory's entry is its withdrawal, with the id of the signed retraction: a new entry too.
 */
export function renderAtomFeed(entries: MirrorEntry[], config: MirrorConfig, fingerprint: string, epoch: string): string {
  const sorted = [...entries].sort(newestFirst);
  const feedUrl = absolute(config.baseUrl, sitePaths.atom);
  const items = sorted.map((e) => {
    if (e.withdrawn) return withdrawalEntry(e, config, fingerprint);
    const { archived, doc } = latestOf(e);
    const { record } = archived;
    const page = `${absolute(config.baseUrl, sitePaths.index)}#${e.id}`;
    const text = [
      `Severity: ${doc.severity.toUpperCase()}`,
      `Affected: ${doc.affected.map((a) => `${a.product} ${a.versions}`).join('; ')}`,
      ...(doc.cves.length > 0 ? [`CVEs: ${doc.cves.join(', ')}`] : []),
      '',
      doc.summary,
      ...doc.mitigations.map((m) => `Mitigation: ${m.text}`),
      '',
      `Signed document: ${absolute(config.baseUrl, sitePaths.document(record.id, record.revision))} (SHA-256 ${record.sha256})`,
      `Verify it with tocsin's key ${fingerprint}.`,
    ].join('\n');
    return atomEntry({
      id: `${absolute(config.baseUrl, sitePaths.revisionDir(record.id, record.revision))}/`,
      title: `[${doc.severity.toUpperCase()}] ${record.id} revision ${record.revision}: ${doc.title}`,
      updated: record.accepted_at,
      published: doc.published,
      alternate: page,
      related: absolute(config.baseUrl, sitePaths.document(record.id, record.revision)),
      category: { term: doc.severity, label: 'severity' },
      summary: text,
    });
  });
  return atomFeed({
    self: feedUrl,
    title: `${config.publisher.name} security advisories`,
    updated: sorted[0] ? updatedAt(sorted[0]) : epoch,
    author: config.publisher.name,
    alternate: absolute(config.baseUrl, sitePaths.index),
    entries: items,
  });
}

/** The feed entry of a withdrawal: the advisory struck, the publishers' reason, the signed retraction. */
function withdrawalEntry(e: MirrorEntry, config: MirrorConfig, fingerprint: string): string {
  const { record } = latestOf(e).archived;
  const { doc } = latestOf(e);
  const retraction = e.withdrawn!.archived.record;
  const retractionUrl = absolute(config.baseUrl, sitePaths.document(retraction.id, retraction.revision));
  const text = [
    `${record.id} is WITHDRAWN by its publishers. Do not act on it.`,
    '',
    e.withdrawn!.doc.summary,
    '',
    `Signed retraction: ${retractionUrl} (SHA-256 ${retraction.sha256})`,
    `Verify it with tocsin's key ${fingerprint}.`,
  ].join('\n');
  return atomEntry({
    id: `${absolute(config.baseUrl, sitePaths.revisionDir(retraction.id, retraction.revision))}/`,
    title: `[WITHDRAWN] ${record.id}: ${doc.title}`,
    updated: retraction.accepted_at,
    published: e.withdrawn!.doc.published,
    alternate: `${absolute(config.baseUrl, sitePaths.index)}#${e.id}`,
    related: retractionUrl,
    category: { term: 'withdrawn', label: 'status' },
    summary: text,
  });
}
