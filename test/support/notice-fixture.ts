import { createHash } from 'node:crypto';
import * as openpgp from 'openpgp';
import type { AdvisoryRecord, ArchivedAdvisory } from '../../src/advisory/record';
import { soleSigner, type BroadcasterSigner } from '../../src/pgp/broadcaster-keys';
import { signDetached } from '../../src/pgp/detached';
import type { NoticeVariant } from '../../src/notices/notice-variant';
import type { RenderContext } from '../../src/notices/render-context';
import { defaultTemplatesDir } from '../../src/notices/render-notices';
import { documentText, sampleAdvisory } from './advisory-fixture';

/** A throwaway broadcaster key, as `tocsin keys` would hold one, with its armored public half. */
export async function testBroadcaster(email = 'notices@example.org'): Promise<{ broadcaster: BroadcasterSigner; armoredPublicKey: string }> {
  const { privateKey } = await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ email }], format: 'object' });
  const armoredPublicKey = privateKey.toPublic().armor();
  const fingerprint = privateKey.getFingerprint().toUpperCase();
  return { broadcaster: soleSigner({ privateKey, publicKey: privateKey.toPublic(), armoredPublicKey, fingerprint }), armoredPublicKey };
}

/**
 * A document as the archive holds it once accepted and signed by `broadcaster`; the record says
 * what intake would have recorded (a retraction's severity and TLP are the withdrawn advisory's).
 */
export async function archivedDocument(doc: Record<string, unknown>, broadcaster: BroadcasterSigner, record: Partial<AdvisoryRecord> = {}): Promise<ArchivedAdvisory> {
  const document = documentText(doc);
  return {
    record: {
      id: String(doc.id),
      revision: Number(doc.revision),
      kind: doc.kind as AdvisoryRecord['kind'],
      title: String(doc.title),
      severity: (doc.severity as AdvisoryRecord['severity'] | undefined) ?? 'critical',
      ...(typeof doc.tlp === 'string' ? { tlp: doc.tlp as AdvisoryRecord['tlp'] } : {}),
      sha256: createHash('sha256').update(document).digest('hex'),
      accepted_at: new Date().toISOString(),
      publishers: [],
      broadcaster_fingerprint: broadcaster.fingerprint,
      ...record,
    },
    document,
    publisherSignatures: [],
    broadcasterSignature: await signDetached(Buffer.from(document), broadcaster.signingKeys),
  };
}

/** A retraction document withdrawing `retracts`, with exactly the fields the schema allows. */
export function sampleRetraction(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 'ACME-2026-0001-R',
    revision: 1,
    kind: 'retraction',
    retracts: 'ACME-2026-0001',
    title: 'Withdrawn: acme-server is not affected',
    summary: 'The crash needs a debug build; release builds never load the manifest parser.',
    published: '2026-11-25T09:00:00Z',
    ...overrides,
  };
}

/** The variants a notice can take, each over its own document: what every renderer must show. */
export interface VariantCase {
  name: 'ordinary' | 'embargoed' | 'updated' | 'retraction';
  doc: Record<string, unknown>;
  variant: NoticeVariant;
  record?: Partial<AdvisoryRecord>;
}

export const EMBARGO_UNTIL = '2026-12-09T15:00:00+01:00';

export function variantCases(id = 'ACME-2026-0001'): VariantCase[] {
  const first = sampleAdvisory({ id });
  return [
    { name: 'ordinary', doc: first, variant: {} },
    { name: 'embargoed', doc: sampleAdvisory({ id, tlp: 'AMBER', embargo_until: EMBARGO_UNTIL, audience: ['distros'] }), variant: { embargoedUntil: EMBARGO_UNTIL } },
    {
      name: 'updated',
      doc: sampleAdvisory({ id, revision: 2, severity: 'high', affected: [{ product: 'acme-server', versions: '<2.3.2', fixed: '2.3.2' }] }),
      variant: { previous: { revision: 1, document: documentText(first) } },
    },
    { name: 'retraction', doc: sampleRetraction({ id: `${id}-R`, retracts: id }), variant: {}, record: { severity: 'critical', retracts: id } },
  ];
}

export function renderContext(broadcaster: BroadcasterSigner, variant: NoticeVariant = {}): RenderContext {
  return { broadcaster, publicUrl: 'http://127.0.0.1:1', templatesDir: defaultTemplatesDir(), variant };
}
