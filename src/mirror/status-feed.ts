import type { MirrorConfig } from '../config';
import { esc } from './html-escape';
import type { IncidentEntry } from './incident-entry';
import { absolute, sitePaths } from './site-paths';

/**
 * status.atom (RFC 4287): every signed status update, newest first, one entry per update (its id
 * names the revision), so a feed reader shows each checkpoint of an incident as news.
 */
export function renderStatusFeed(incidents: readonly IncidentEntry[], config: MirrorConfig, fingerprint: string, epoch: string): string {
  const updates = incidents
    .flatMap((i) => i.updates)
    .sort((a, b) => b.archived.record.accepted_at.localeCompare(a.archived.record.accepted_at) || a.archived.record.id.localeCompare(b.archived.record.id) || b.archived.record.revision - a.archived.record.revision);
  const feedUrl = absolute(config.baseUrl, sitePaths.statusAtom);
  const items = updates.map(({ archived, doc }) => {
    const { record } = archived;
    const documentUrl = absolute(config.baseUrl, sitePaths.document(record.id, record.revision));
    const text = [
      `State: ${doc.state}`,
      ...(doc.affected_services ? [`Affected services: ${doc.affected_services.join(', ')}`] : []),
      ...(doc.next_update_by ? [`Next update by: ${doc.next_update_by}`] : []),
      '',
      doc.summary,
      '',
      `Signed document: ${documentUrl} (SHA-256 ${record.sha256})`,
      `Verify it with tocsin's key ${fingerprint}.`,
    ].join('\n');
    return [
      '  <entry>',
      `    <id>${esc(absolute(config.baseUrl, sitePaths.revisionDir(record.id, record.revision)))}/</id>`,
      `    <title>[${esc(doc.state.toUpperCase())}] ${esc(record.id)}: ${esc(doc.title)}</title>`,
      `    <updated>${esc(record.accepted_at)}</updated>`,
      `    <published>${esc(new Date(doc.published).toISOString())}</published>`,
      `    <link rel="alternate" type="text/html" href="${esc(`${absolute(config.baseUrl, sitePaths.status)}#${record.id}`)}"/>`,
      `    <link rel="related" type="application/json" href="${esc(documentUrl)}"/>`,
      `    <category term="${esc(doc.state)}" label="state"/>`,
      `    <summary type="text">${esc(text)}</summary>`,
      '  </entry>',
    ].join('\n');
  });
  return [
    '<?xml version="1.0" encoding="utf-8"?>',
    '<feed xmlns="http://www.w3.org/2005/Atom">',
    `  <id>${esc(feedUrl)}</id>`,
    `  <title>${esc(config.publisher.name)} incident status</title>`,
    `  <updated>${esc(updates[0]?.archived.record.accepted_at ?? epoch)}</updated>`,
    `  <author><name>${esc(config.publisher.name)}</name></author>`,
    `  <link rel="self" type="application/atom+xml" href="${esc(feedUrl)}"/>`,
    `  <link rel="alternate" type="text/html" href="${esc(absolute(config.baseUrl, sitePaths.status))}"/>`,
    `  <generator>tocsin</generator>`,
    ...items,
    '</feed>',
    '',
  ].join('\n');
}
