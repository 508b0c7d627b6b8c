import type { Severity } from './schema';

/** Names one revision of one advisory. */
export interface AdvisoryRef {
  id: string;
  revision: number;
}

/** What tocsin knows about an accepted revision, apart from the document and signatures. */
export interface AdvisoryRecord extends AdvisoryRef {
  kind: 'advisory' | 'mitigation';
  title: string;
  severity: Severity;
  /** Hex SHA-256 of the exact signed bytes. */
  sha256: string;
  accepted_at: string;
  /** Fingerprints of the enrolled publishers whose signatures verified. */
  publishers: string[];
  broadcaster_fingerprint: string;
}

/** A record with everything needed to render notices. */
export interface ArchivedAdvisory {
  record: AdvisoryRecord;
  /** The exact text the publishers signed. */
  document: string;
  publisherSignatures: string[];
  /** Tocsin's detached signature over `document`. */
  broadcasterSignature: string;
}

export function refKey(ref: AdvisoryRef): string {
  return `${ref.id}/${ref.revision}`;
}
