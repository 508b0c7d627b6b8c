import { createHash } from 'node:crypto';
import type { ArchivedAdvisory } from '../advisory/record';
import type { Notice } from '../channels/channel';

/**
 * The webhook body: the exact signed document as a string plus tocsin's detached signature over
 * it, so a partner can write both fields to files and run `gpg --verify`. Rendered once per
 * revision; every partner gets the same bytes.
 */
export interface WebhookBody {
  type: 'advisory.published' | 'mitigation.published';
  id: string;
  revision: number;
  kind: 'advisory' | 'mitigation';
  severity: string;
  title: string;
  sha256: string;
  accepted_at: string;
  document: string;
  signature: string;
  signer_fingerprint: string;
  publisher_signatures: string[];
  publisher_fingerprints: string[];
  key_url: string;
}

/** Stable for a revision's content, across retries, restarts and recovery. */
export function messageIdFor(archived: ArchivedAdvisory): string {
  const { id, revision, sha256 } = archived.record;
  return `msg_${createHash('sha256').update(`${id}\n${revision}\n${sha256}`).digest('hex').slice(0, 32)}`;
}

export function renderWebhookNotice(archived: ArchivedAdvisory, publicUrl: string): Notice {
  const { record } = archived;
  const body: WebhookBody = {
    type: `${record.kind}.published`,
    id: record.id,
    revision: record.revision,
    kind: record.kind,
    severity: record.severity,
    title: record.title,
    sha256: record.sha256,
    accepted_at: record.accepted_at,
    document: archived.document,
    signature: archived.broadcasterSignature,
    signer_fingerprint: record.broadcaster_fingerprint,
    publisher_signatures: archived.publisherSignatures,
    publisher_fingerprints: record.publishers,
    key_url: `${publicUrl}/v1/keys/broadcaster.asc`,
  };
  return { ref: { id: record.id, revision: record.revision }, messageId: messageIdFor(archived), payload: JSON.stringify(body) };
}
