import type { MirrorConfig } from '../config';
import { atomEntry, atomFeed } from './atom-xml';
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
    return atomEntry({
      id: `${absolute(config.baseUrl, sitePaths.revisionDir(record.id, record.revision))}/`,
      title: `[${doc.state.toUpperCase()}] ${record.id}: ${doc.title}`,
      updated: record.accepted_at,
      published: doc.published,
      alternate: `${absolute(config.baseUrl, sitePaths.status)}#${record.id}`,
      related: documentUrl,
      category: { term: doc.state, label: 'state' },
      summary: text,
    });
  });
  return atomFeed({
    self: feedUrl,
    title: `${config.publisher.name} incident status`,
    updated: updates[0]?.archived.record.accepted_at ?? epoch,
    author: config.publisher.name,
    alternate: absolute(config.baseUrl, sitePaths.status),
    entries: items,
  });
}
