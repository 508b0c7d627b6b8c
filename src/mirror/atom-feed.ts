import type { MirrorConfig } from '../config';
import { esc } from './html-escape';
import { latestOf, newestFirst, updatedAt, type MirrorEntry } from './mirror-entry';
import { absolute, sitePaths } from './site-paths';

/**
 * An Atom feed (RFC 4287) of the latest revision of every advisory, newest first. Each entry's
 * id names the revision, so a feed reader shows a new revision as a new entry.
 */
export function renderAtomFeed(entries: MirrorEntry[], config: MirrorConfig, fingerprint: string, epoch: string): string {
  const sorted = [...entries].sort(newestFirst);
  const feedUrl = absolute(config.baseUrl, sitePaths.atom);
  const items = sorted.map((e) => {
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
