import type { MirrorConfig } from '../config';
import { incidentOrder, isOpen, latestUpdate, overdueSince, type IncidentEntry, type IncidentUpdate } from './incident-entry';
import { absolute, sitePaths } from './site-paths';

/** One signed update in status.json. */
export interface StatusJsonUpdate {
  revision: number;
  state: string;
  title: string;
  summary: string;
  published: string;
  accepted_at: string;
  affected_services?: string[];
  next_update_by?: string;
  /** SHA-256 of the signed document. */
  sha256: string;
  /** Absolute URLs of the signed document, tocsin's signature and each publisher's. */
  document: string;
  signature: string;
  publisher_signatures: string[];
}

/** One incident in status.json: its latest state and every update, newest first. */
export interface StatusJsonIncident {
  incident: string;
  state: string;
  open: boolean;
  title: string;
  /** The latest update's promise, while the incident is open. */
  next_update_by?: string;
  /** True when that promise had passed with no update when the site was built. */
  overdue: boolean;
  updated_at: string;
  updates: StatusJsonUpdate[];
}

/** status.json: the data of status.html, for machines (a contract: see README). */
export interface StatusJson {
  publisher: string;
  open_incidents: number;
  incidents: StatusJsonIncident[];
}

function update(config: MirrorConfig, { archived, doc }: IncidentUpdate): StatusJsonUpdate {
  const { id, revision } = archived.record;
  return {
    revision,
    state: doc.state,
    title: doc.title,
    summary: doc.summary,
    published: doc.published,
    accepted_at: archived.record.accepted_at,
    ...(doc.affected_services ? { affected_services: doc.affected_services } : {}),
    ...(doc.next_update_by ? { next_update_by: doc.next_update_by } : {}),
    sha256: archived.record.sha256,
    document: absolute(config.baseUrl, sitePaths.document(id, revision)),
    signature: absolute(config.baseUrl, `${sitePaths.document(id, revision)}.asc`),
    publisher_signatures: archived.publisherSignatures.map((_, i) => absolute(config.baseUrl, sitePaths.publisherSignature(id, revision, i + 1))),
  };
}

/** Open incidents first, as status.html orders them. */
export function renderStatusJson(incidents: readonly IncidentEntry[], config: MirrorConfig, now: Date): StatusJson {
  const sorted = [...incidents].sort(incidentOrder);
  return {
    publisher: config.publisher.name,
    open_incidents: sorted.filter(isOpen).length,
    incidents: sorted.map((i) => {
      const { archived, doc } = latestUpdate(i);
      const open = isOpen(i);
      return {
        incident: i.id,
        state: doc.state,
        open,
        title: doc.title,
        ...(open && doc.next_update_by ? { next_update_by: doc.next_update_by } : {}),
        overdue: overdueSince(i, now) !== undefined,
        updated_at: archived.record.accepted_at,
        updates: [...i.updates].reverse().map((u) => update(config, u)),
      };
    }),
  };
}
