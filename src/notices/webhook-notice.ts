import { createHash } from 'node:crypto';
import type { ArchivedAdvisory } from '../advisory/record';
import type { DocumentKind, IncidentState } from '../advisory/schema';
import type { Tlp } from '../advisory/tlp';
import type { Notice } from '../channels/channel';
import { signerFingerprints } from '../pgp/detached';
import { noticeMarks } from './notice-marks';
import { transitionUrl } from './notice-view';
import type { RenderContext } from './render-context';

/**
 * The webhook body: the exact signed document as a string plus tocsin's detached signature over
 * it, so a partner can write both fields to files and run `gpg --verify`. Rendered once per
 * revision; every partner gets the same bytes.
 */
export interface WebhookBody {
  /** `advisory.published`, `mitigation.published`, `retraction.published`, `status.published` or `drill.published`; an embargo or an update does not change it. */
  type: `${DocumentKind}.published`;
  id: string;
  revision: number;
  kind: DocumentKind;
  /** Absent on a retraction, a status update and a drill, which have no severity of their own. */
  severity?: string;
  /** The TLP 2.0 label, without `TLP:`: "CLEAR" for a document that sets none. Always present. */
  tlp: Tlp;
  /** Present only when this notice goes out under its embargo, to its audience: the document's `embargo_until`. */
  embargo_until?: string;
  /** On a revision after the first: the revision it updates (the latest earlier one). */
  previous_revision?: number;
  /** With `previous_revision`: the top-level document fields that differ from it, sorted (`revision` never listed). */
  changes?: string[];
  /** On a retraction: the id of the advisory withdrawn. */
  retracts?: string;
  /** On a status update: the incident's slug (the same as `id`). */
  incident?: string;
  /** On a status update: `investigating`, `identified`, `monitoring` or `resolved`. */
  state?: IncidentState;
  title: string;
  sha256: string;
  accepted_at: string;
  document: string;
  signature: string;
  /** The key the notice names (tocsin's current key when the advisory was accepted). */
  signer_fingerprint: string;
  /** Every key whose signature packet is in `signature`: two during a key rotation's overlap. */
  signer_fingerprints: string[];
  publisher_signatures: string[];
  publisher_fingerprints: string[];
  key_url: string;
  /** After a key rotation: the statement signed by the old and the new key, as served at `url`. */
  key_transition?: { url: string; statement: string; signature: string };
}

/** Stable for a revision's content, across retries, restarts and recovery. */
export function messageIdFor(archived: ArchivedAdvisory): string {
  const { id, revision, sha256 } = archived.record;
  return `msg_${createHash('sha256').update(`${id}\n${revision}\n${sha256}`).digest('hex').slice(0, 32)}`;
}

export async function renderWebhookNotice(archived: ArchivedAdvisory, ctx: RenderContext): Promise<Notice> {
  const { record } = archived;
  const { publicUrl } = ctx;
  const transition = ctx.broadcaster.transition;
  const marks = noticeMarks(archived, ctx.variant);
  const body: WebhookBody = {
    type: `${record.kind}.published`,
    id: record.id,
    revision: record.revision,
    kind: record.kind,
    // A retraction's record holds the withdrawn advisory's severity, which is not the retraction's.
    // A drill's is the rule's, not a finding; a status update has none.
    ...(record.kind === 'retraction' || record.kind === 'status' || record.kind === 'drill' ? {} : { severity: record.severity }),
    tlp: marks.tlp,
    ...(marks.embargoUntil !== undefined ? { embargo_until: marks.embargoUntil } : {}),
    ...(marks.update ? { previous_revision: marks.update.previousRevision, changes: marks.update.changes } : {}),
    ...(marks.retracts !== undefined ? { retracts: marks.retracts } : {}),
    ...(marks.state !== undefined ? { incident: record.id, state: marks.state } : {}),
    title: record.title,
    sha256: record.sha256,
    accepted_at: record.accepted_at,
    document: archived.document,
    signature: archived.broadcasterSignature,
    signer_fingerprint: record.broadcaster_fingerprint,
    signer_fingerprints: await signerFingerprints(archived.broadcasterSignature),
    publisher_signatures: archived.publisherSignatures,
    publisher_fingerprints: record.publishers,
    key_url: `${publicUrl}/v1/keys/broadcaster.asc`,
    ...(transition ? { key_transition: { url: transitionUrl(publicUrl), statement: transition.text, signature: transition.signature } } : {}),
  };
  return { ref: { id: record.id, revision: record.revision }, messageId: messageIdFor(archived), payload: JSON.stringify(body), acceptedAt: record.accepted_at };
}
