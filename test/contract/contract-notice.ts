import { createHash } from 'node:crypto';
import * as openpgp from 'openpgp';
import type { ArchivedAdvisory } from '../../src/advisory/record';
import type { Notice } from '../../src/channels/channel';
import type { ChannelName } from '../../src/channels/channel-names';
import { soleSigner } from '../../src/pgp/broadcaster-keys';
import { signDetached, type SigningKeys } from '../../src/pgp/detached';
import { defaultTemplatesDir, noticeRenderers } from '../../src/notices/render-notices';
import { documentText, sampleAdvisory } from '../support/advisory-fixture';

/** A sample advisory as the archive holds it once accepted, signed as the broadcaster by `signingKeys`. */
export async function archivedSample(id: string, fingerprint: string, signingKeys: SigningKeys): Promise<ArchivedAdvisory> {
  const document = documentText(sampleAdvisory({ id }));
  return {
    record: {
      id,
      revision: 1,
      kind: 'advisory',
      title: 'Remote code execution in acme-server',
      severity: 'critical',
      sha256: createHash('sha256').update(document).digest('hex'),
      accepted_at: new Date().toISOString(),
      publishers: [],
      broadcaster_fingerprint: fingerprint,
    },
    document,
    publisherSignatures: [],
    broadcasterSignature: await signDetached(Buffer.from(document), signingKeys),
  };
}

/** A real notice of `channel`'s format, rendered and signed as the API would, with a throwaway key. */
export async function contractNotice(channel: ChannelName): Promise<Notice> {
  const generated = await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ email: 'contract@example.org' }], format: 'object' });
  const privateKey = generated.privateKey;
  const archived = await archivedSample('CONTRACT-1', privateKey.getFingerprint().toUpperCase(), privateKey);
  const broadcaster = soleSigner({
    privateKey,
    publicKey: privateKey.toPublic(),
    armoredPublicKey: privateKey.toPublic().armor(),
    fingerprint: privateKey.getFingerprint().toUpperCase(),
  });
  const render = noticeRenderers[channel];
  if (!render) throw new Error(`no renderer for ${channel}`);
  return render(archived, { broadcaster, publicUrl: 'http://127.0.0.1:1', templatesDir: defaultTemplatesDir() });
}
