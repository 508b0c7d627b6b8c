import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ChannelName } from '../../src/channels/channel-names';
import { parseEmailInput } from '../../src/cli/inputs/email-input';
import { parseSlackInput } from '../../src/cli/inputs/slack-input';
import type { EmailPayload } from '../../src/notices/email-notice';
import type { MastodonNoticePayload } from '../../src/notices/mastodon-notice';
import { spacedFingerprint } from '../../src/notices/notice-view';
import { defaultTemplatesDir, noticeRenderers } from '../../src/notices/render-notices';
import type { WebhookBody } from '../../src/notices/webhook-notice';
import { createBroadcasterKey } from '../../src/pgp/broadcaster-key';
import { createBroadcasterKeys, type BroadcasterSigner } from '../../src/pgp/broadcaster-keys';
import { rotateBroadcasterKey } from '../../src/pgp/key-rotation';
import { sqVerify } from '../support/gpg';
import { sqVerifyCleartext } from '../support/gpg-cleartext';
import { gpgVerifyWith } from '../support/gpg-keys';
import { archivedSample } from '../contract/contract-notice';

const PUBLIC_URL = 'http://127.0.0.1:1';

/** Each channel's notice reduced to the signed text and its signature, as a recipient extracts them. */
interface Signed {
  text: string;
  /** Detached armored signature, or null when `text` is a whole cleartext-signed block. */
  signature: string | null;
  /** Text a reader sees outside the signature, where there is any. */
  unsigned: string;
}

async function renderSigned(channel: ChannelName, signer: BroadcasterSigner): Promise<Signed> {
  const archived = await archivedSample('ROTATION-1', signer.fingerprint, signer.signingKeys);
  const notice = await noticeRenderers[channel]!(archived, { broadcaster: signer, publicUrl: PUBLIC_URL, templatesDir: defaultTemplatesDir() });
  const payload: unknown = JSON.parse(notice.payload);
  switch (channel) {
    case 'webhook': {
      const body = payload as WebhookBody;
      return { text: body.document, signature: body.signature, unsigned: notice.payload };
    }
    case 'email': {
      const email = payload as EmailPayload;
      const parsed = parseEmailInput(`Content-Type: ${email.contentType}\r\n\r\n${email.body}`, undefined);
      if (parsed?.kind !== 'detached') throw new Error('the email notice did not parse');
      return { text: parsed.document, signature: parsed.signature, unsigned: '' };
    }
    case 'slack': {
      const parsed = parseSlackInput(notice.payload, payload);
      if (parsed?.kind !== 'cleartext') throw new Error('the Slack notice did not parse');
      return { text: parsed.cleartext, signature: null, unsigned: notice.payload };
    }
    case 'mastodon': {
      const toot = payload as MastodonNoticePayload;
      return { text: toot.cleartext, signature: null, unsigned: toot.summary };
    }
  }
}

async function verifiesWith(armoredKey: string, s: Signed): Promise<boolean> {
  return s.signature === null ? (await sqVerifyCleartext(armoredKey, s.text)).ok : (await sqVerify(armoredKey, s.text, s.signature)).ok;
}

const channels: ChannelName[] = ['webhook', 'email', 'slack', 'mastodon'];

describe("every channel's notice names the signing keys, through a rotation", () => {
  let dir: string;
  let oldKey: string;
  let newKey: string;
  let oldFpr: string;
  let newFpr: string;
  let during: BroadcasterSigner;
  let after: BroadcasterSigner;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tocsin-rotation-notices-'));
    const first = await createBroadcasterKey({ keysDir: dir, email: 'tocsin@example.org', passphrase: 'pass phrase' });
    oldKey = first.armoredPublicKey;
    oldFpr = first.fingerprint;
    const rotation = await rotateBroadcasterKey({ keysDir: dir, passphrase: 'pass phrase', overlapDays: 30, expiresDays: 365, force: false });
    newFpr = rotation.newFingerprint;
    const keys = createBroadcasterKeys(dir, 'pass phrase');
    newKey = (await keys.snapshot()).current.armoredPublicKey;
    during = await keys.signer();
    after = await keys.signer(new Date(rotation.overlapUntil.getTime() + 1000));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('the signer during the overlap is the new key then the old one; after it, the new key alone', () => {
    expect(during.signerFingerprints).toEqual([newFpr, oldFpr]);
    expect(after.signerFingerprints).toEqual([newFpr]);
  });

  it.each(channels)('%s: during the overlap, names both keys and the transition, and verifies with either key alone', async (channel) => {
    const s = await renderSigned(channel, during);
    expect(await verifiesWith(oldKey, s)).toBe(true);
    expect(await verifiesWith(newKey, s)).toBe(true);
    if (channel === 'webhook') {
      const body = JSON.parse(s.unsigned) as WebhookBody;
      expect(body).toMatchObject({ signer_fingerprint: newFpr, signer_fingerprints: [newFpr, oldFpr] });
      expect(body.key_transition?.url).toBe(`${PUBLIC_URL}/v1/keys/transition.json`);
      return;
    }
    // Inside the signed text, so a recipient can rely on it.
    expect(s.text).toContain(spacedFingerprint(newFpr));
    expect(s.text).toContain(spacedFingerprint(oldFpr));
    expect(s.text).toContain(`${PUBLIC_URL}/v1/keys/transition.json`);
    if (s.unsigned !== '') expect(s.unsigned).toContain(spacedFingerprint(oldFpr));
  });

  it.each(channels)('%s: after the overlap, names the new key and the transition, and the old key alone no longer verifies', async (channel) => {
    const s = await renderSigned(channel, after);
    expect(await verifiesWith(newKey, s)).toBe(true);
    expect(await verifiesWith(oldKey, s)).toBe(false);
    if (channel === 'webhook') {
      expect(JSON.parse(s.unsigned)).toMatchObject({ signer_fingerprints: [newFpr], key_transition: { url: `${PUBLIC_URL}/v1/keys/transition.json` } });
      return;
    }
    expect(s.text).toContain(spacedFingerprint(newFpr));
    expect(s.text).toContain(`${PUBLIC_URL}/v1/keys/transition.json`);
    expect(s.text).not.toContain(`signs too until`);
    expect(s.text).not.toContain(`also by the previous key`);
  });

  it('gpg checks both packets of a detached notice signature when it holds both keys', async () => {
    const s = await renderSigned('email', during);
    const result = await gpgVerifyWith([oldKey, newKey], s.text, s.signature!);
    expect(result.code).toBe(0);
    expect(result.valid.sort()).toEqual([oldFpr, newFpr].sort());
  });
});
