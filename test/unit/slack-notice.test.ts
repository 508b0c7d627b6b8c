import { createHash } from 'node:crypto';
import * as openpgp from 'openpgp';
import type { ArchivedAdvisory } from '../../src/advisory/record';
import { soleSigner } from '../../src/pgp/broadcaster-keys';
import { signDetached } from '../../src/pgp/detached';
import { defaultTemplatesDir } from '../../src/notices/render-notices';
import { cutAt, renderSlackNotice, type SlackNoticePayload } from '../../src/notices/slack-notice';
import { documentText, sampleAdvisory } from '../support/advisory-fixture';

const LONE_SURROGATE = /\p{Cs}/u;

describe('Slack notice truncation', () => {
  it('cuts on code points: never between the two halves of a surrogate pair', () => {
    expect(cutAt('ab😀c', 3)).toBe('ab');
    expect(cutAt('ab😀c', 4)).toBe('ab😀');
    expect(cutAt('abc', 2)).toBe('ab');
    expect(cutAt('ab', 5)).toBe('ab');
  });

  it('leaves no half character in the header, the section or the fallback text, wherever the cut falls', async () => {
    const { privateKey } = await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ email: 'slack-cut@example.org' }], format: 'object' });
    const fingerprint = privateKey.getFingerprint().toUpperCase();
    const broadcaster = soleSigner({ privateKey, publicKey: privateKey.toPublic(), armoredPublicKey: privateKey.toPublic().armor(), fingerprint });
    const cut: string[] = [];
    // One pad or none moves every pair by one unit, so one of the two puts a cut inside a pair.
    for (const pad of ['', 'x']) {
      const title = `${pad}${'😀'.repeat(140)}`;
      const document = documentText(sampleAdvisory({ id: `SLACK-CUT-${pad.length}`, title, summary: `${pad}${'🔥'.repeat(1000)}` }));
      const archived: ArchivedAdvisory = {
        record: { id: `SLACK-CUT-${pad.length}`, revision: 1, kind: 'advisory', title, severity: 'critical', sha256: createHash('sha256').update(document).digest('hex'), accepted_at: new Date().toISOString(), publishers: [], broadcaster_fingerprint: fingerprint },
        document,
        publisherSignatures: [],
        broadcasterSignature: await signDetached(Buffer.from(document), privateKey),
      };
      const notice = await renderSlackNotice(archived, { broadcaster, publicUrl: 'http://127.0.0.1:1', templatesDir: defaultTemplatesDir() });
      const payload = JSON.parse(notice.payload) as SlackNoticePayload;
      const header = payload.blocks.find((b) => b.type === 'header')!;
      const section = payload.blocks.find((b) => b.type === 'section')!;
      const texts = { fallback: payload.text, header: 'text' in header ? header.text.text : '', section: 'text' in section ? section.text.text : '' };
      for (const [where, text] of Object.entries(texts)) {
        expect({ pad, where, lone: LONE_SURROGATE.test(text) }).toEqual({ pad, where, lone: false });
      }
      if (texts.header.endsWith('…')) cut.push('header');
      if (texts.section.includes('… (full text in the signed notice)')) cut.push('summary');
    }
    // Not vacuous: both the header and the summary were cut, for each pad.
    expect(cut).toEqual(['header', 'summary', 'header', 'summary']);
  });
});
