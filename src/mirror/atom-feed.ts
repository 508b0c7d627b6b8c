import type { MirrorConfig } from '../config';
import { esc } from './html-escape';
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
    return [
      '  <entry>',
      `    <id>${esc(absolute(config.baseUrl, sitePaths.revisionDir(record.id, record.revision)))}/</id>`,
      `    <title>[${esc(doc.severity.toUpperCase())}] ${esc(record.id)} revision ${record.revision}: ${esc(doc.title)}</title>`,
      `    <updated>${esc(record.accepted_at)}</updated>`,
      `    <published>${esc(new Date(doc.published).toISOString())}</published>`,
      `    <link rel="alternate" type="text/html" href="${esc(page)}"/>`,
      `    <link rel="related" type="application/json" href="${esc(absolute(config.baseUrl, sitePaths.document(record.id, record.revision)))}"/>`,
      `    <category term="${esc(doc.severity)}" label="severity"/>`,
      `    <summary type="text">${esc(text)}</summary>`,
      '  </entry>',
    ].join('\n');
  });
  return [
    '<?xml version="1.0" encoding="utf-8"?>',
    '<feed xmlns="http://www.w3.org/2005/Atom">',
    `  <id>${esc(feedUrl)}</id>`,
    `  <title>${esc(config.publisher.name)} security advisories</title>`,
    `  <updated>${esc(sorted[0] ? updatedAt(sorted[0]) : epoch)}</updated>`,
    `  <author><name>${esc(config.publisher.name)}</name></author>`,
    `  <link rel="self" type="application/atom+xml" href="${esc(feedUrl)}"/>`,
    `  <link rel="alternate" type="text/html" href="${esc(absolute(config.baseUrl, sitePaths.index))}"/>`,
    `  <generator>tocsin</generator>`,
    ...items,
    '</feed>',
    '',
  ].join('\n');
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
  return [
    '  <entry>',
    `    <id>${esc(absolute(config.baseUrl, sitePaths.revisionDir(retraction.id, retraction.revision)))}/</id>`,
    `    <title>[WITHDRAWN] ${esc(record.id)}: ${esc(doc.title)}</title>`,
    `    <updated>${esc(retraction.accepted_at)}</updated>`,
    `    <published>${esc(new Date(e.withdrawn!.doc.published).toISOString())}</published>`,
    `    <link rel="alternate" type="text/html" href="${esc(`${absolute(config.baseUrl, sitePaths.index)}#${e.id}`)}"/>`,
    `    <link rel="related" type="application/json" href="${esc(retractionUrl)}"/>`,
    `    <category term="withdrawn" label="status"/>`,
    `    <summary type="text">${esc(text)}</summary>`,
    '  </entry>',
  ].join('\n');
}
