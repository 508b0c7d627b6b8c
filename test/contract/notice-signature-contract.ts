import type { Channel } from '../../src/channels/channel';
import type { ChannelName } from '../../src/channels/channel-names';
import type { SignedInput } from '../../src/cli/inputs/signed-input';
import { inputParsers } from '../../src/cli/inputs/registry';
import { noticeRenderers } from '../../src/notices/render-notices';
import type { BroadcasterSigner } from '../../src/pgp/broadcaster-keys';
import type { Recipient } from '../../src/recipients/recipient';
import { gpgVerify, sqVerify } from '../support/gpg';
import { gpgVerifyCleartext, sqVerifyCleartext } from '../support/gpg-cleartext';
import { archivedDocument, renderContext, testBroadcaster, variantCases, type VariantCase } from '../support/notice-fixture';

/** A channel wired to its real loopback peer, and what a reader saves of the last notice it got. */
export interface SignedNoticeFixture {
  channel: Channel<Recipient>;
  recipient: Recipient;
  /**
   * The last notice the peer received, as a reader saves it to verify: the .eml, the webhook body,
   * the Slack message or the Mastodon thread as their APIs hand them back.
   */
  lastSaved(): Promise<string>;
  close(): Promise<void>;
}

/** What each variant's notice must say, inside the signature where the channel signs text. */
const SIGNED_MARK: Record<VariantCase['name'], RegExp> = {
  ordinary: /^TLP:CLEAR\r?$/m,
  embargoed: /^EMBARGOED until 2026-12-09 14:00 UTC: /m,
  updated: /^UPDATED \(changed since revision 1: affected, severity\)\r?$/m,
  retraction: /^WITHDRAWN: advisory ACME-2026-0001 is withdrawn/m,
};

/** The webhook signs the publisher's document, not a rendering: its marks are body fields. */
const WEBHOOK_FIELDS: Record<VariantCase['name'], Record<string, unknown>> = {
  ordinary: { type: 'advisory.published', tlp: 'CLEAR' },
  embargoed: { type: 'advisory.published', tlp: 'AMBER', embargo_until: '2026-12-09T15:00:00+01:00' },
  updated: { type: 'advisory.published', previous_revision: 1, changes: ['affected', 'severity'] },
  retraction: { type: 'retraction.published', retracts: 'ACME-2026-0001' },
};

function readSaved(saved: string): SignedInput {
  let json: unknown;
  try {
    json = JSON.parse(saved);
  } catch {
    json = undefined;
  }
  for (const parse of inputParsers) {
    const found = parse(saved, json);
    if (found) return found;
  }
  throw new Error('tocsin verify would not recognise what the peer received');
}

/**
 * Every variant of a notice (ordinary, embargoed, updated, retraction) crosses the channel to its
 * peer and arrives as a reader can check it: gpg and sq (Sequoia, an independent implementation)
 * both verify what was saved, and the signed text says what the variant is.
 */
export function noticeSignatureContract(name: ChannelName, makeFixture: () => Promise<SignedNoticeFixture>): void {
  describe(`notice signatures: ${name}`, () => {
    let f: SignedNoticeFixture;
    let broadcaster: BroadcasterSigner;
    let key: string;

    beforeAll(async () => {
      ({ broadcaster, armoredPublicKey: key } = await testBroadcaster(`${name}-contract@example.org`));
      f = await makeFixture();
    });
    afterAll(() => f.close());

    it.each(variantCases().map((c) => [c.name, c] as const))('%s: the notice verifies with gpg and sq as received, and says what it is', async (_name, c) => {
      const archived = await archivedDocument(c.doc, broadcaster, c.record);
      const notice = await noticeRenderers[name]!(archived, renderContext(broadcaster, c.variant));
      await f.channel.send(notice, f.recipient, new AbortController().signal);
      const saved = await f.lastSaved();
      const input = readSaved(saved);

      if (input.kind === 'detached') {
        const gpg = await gpgVerify(key, input.document, input.signature);
        expect(gpg).toMatchObject({ ok: true, fingerprint: broadcaster.fingerprint });
        expect((await sqVerify(key, input.document, input.signature)).ok).toBe(true);
        if (name === 'webhook') expect(JSON.parse(saved)).toMatchObject(WEBHOOK_FIELDS[c.name]);
        else expect(input.document).toMatch(SIGNED_MARK[c.name]);
      } else {
        const gpg = await gpgVerifyCleartext(key, input.cleartext);
        expect(gpg).toMatchObject({ ok: true, fingerprint: broadcaster.fingerprint });
        expect((await sqVerifyCleartext(key, input.cleartext)).ok).toBe(true);
        expect(gpg.signedText).toMatch(SIGNED_MARK[c.name]);
      }
    });
  });
}
