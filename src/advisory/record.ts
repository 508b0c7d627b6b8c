import type { DocumentKind, Severity } from './schema';
import type { Tlp } from './tlp';

/** Names one revision of one advisory. */
export interface AdvisoryRef {
  id: string;
  revision: number;
}

/** What tocsin knows about an accepted revision, apart from the document and signatures. */
export interface AdvisoryRecord extends AdvisoryRef {
  kind: DocumentKind;
  title: string;
  /**
   * A retraction's is the withdrawn advisory's latest, so withdrawing needs the signatures
   * publishing did; a drill's is critical, so a drill rehearses the strictest two-person rule.
   */
  severity: Severity;
  /** Absent: TLP:CLEAR (and every record archived before TLP existed). */
  tlp?: Tlp;
  /** The document's embargo end, RFC 3339, when it has one. */
  embargo_until?: string;
  /** The recipient groups told during the embargo. */
  audience?: string[];
  /** A retraction's withdrawn advisory id. */
  retracts?: string;
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
