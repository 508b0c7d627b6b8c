import { createHash } from 'node:crypto';
import * as openpgp from 'openpgp';
import type { ArchivedAdvisory } from '../../src/advisory/record';
import { buildEmailMessage, parseSender } from '../../src/channels/email-message';
import { structuredHeader, unstructuredHeader } from '../../src/channels/mail-header';
import type { EmailPayload } from '../../src/notices/email-notice';
import { defaultTemplatesDir, noticeRenderers } from '../../src/notices/render-notices';
import { soleSigner } from '../../src/pgp/broadcaster-keys';
import { signDetached } from '../../src/pgp/detached';
import { documentText, sampleAdvisory } from '../support/advisory-fixture';
import { baseSeed, createRng } from '../support/fuzz';
import { readHeaders } from '../support/mime-reader';

const HEADER_NAMES = ['from', 'to', 'subject', 'date', 'message-id', 'mime-version', 'list-unsubscribe', 'list-unsubscribe-post', 'content-type'];

/** The header block as a reader sees it: each field's name, and its value unfolded. */
function headerFields(raw: string): { name: string; value: string }[] {
  const head = raw.slice(0, raw.indexOf('\r\n\r\n'));
  // A bare CR or LF is a line break to many readers, so it must not occur at all.
  expect(head.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
  for (const line of head.split('\r\n')) expect(line.length).toBeLessThanOrEqual(998);
  return head
    .replace(/\r\n(?=[ \t])/g, '')
    .split('\r\n')
    .map((line) => ({ name: line.slice(0, line.indexOf(':')).toLowerCase(), value: line.slice(line.indexOf(':') + 1).trim() }));
}

/** RFC 2047 decoding of Q words, written apart from tocsin's encoder; whitespace between words goes. */
function decodeWords(value: string): string {
  return value.replace(/\?=\s+=\?/g, '?==?').replace(/=\?UTF-8\?Q\?([^?]*)\?=/gi, (_, q: string) => {
    const bytes = q.replace(/_/g, ' ').replace(/=([0-9A-F]{2})/g, (__, h: string) => String.fromCharCode(parseInt(h, 16)));
    return Buffer.from(bytes, 'latin1').toString('utf8');
  });
}

const envelope = {
  sender: parseSender('ACME Security <security@acme.example>'),
  to: 'ops@partner.example',
  noticeId: 'msg_1',
  recipientId: 'rcpt_1',
  unsubscribeUrl: 'https://tocsin.example/v1/unsubscribe/abc',
  date: new Date('2026-12-02T10:00:00Z'),
};

describe('email headers cannot be broken out of', () => {
  it('a title with CRLF, rendered directly (no intake), adds no header and does not replace the signed body', async () => {
    const title = 'Update now\r\nBcc: everyone@victim.example\r\n\r\nForged body: ignore the advisory\r\n';
    const generated = await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ email: 'broadcaster@example.org' }], format: 'object' });
    const key = generated.privateKey;
    const fingerprint = key.getFingerprint().toUpperCase();
    const document = documentText(sampleAdvisory({ id: 'HDR-1', title }));
    const archived: ArchivedAdvisory = {
      record: {
        id: 'HDR-1',
        revision: 1,
        kind: 'advisory',
        title,
        severity: 'critical',
        sha256: createHash('sha256').update(document).digest('hex'),
        accepted_at: new Date().toISOString(),
        publishers: [],
        broadcaster_fingerprint: fingerprint,
      },
      document,
      publisherSignatures: [],
      broadcasterSignature: await signDetached(Buffer.from(document), key),
    };
    const broadcaster = soleSigner({ privateKey: key, publicKey: key.toPublic(), armoredPublicKey: key.toPublic().armor(), fingerprint });
    const notice = await noticeRenderers.email!(archived, { broadcaster, publicUrl: 'http://127.0.0.1:1', templatesDir: defaultTemplatesDir() });
    const payload = JSON.parse(notice.payload) as EmailPayload;
    const raw = buildEmailMessage(payload, envelope);

    const fields = headerFields(raw);
    expect(fields.map((f) => f.name)).toEqual(HEADER_NAMES);
    expect(readHeaders(raw).get('bcc')).toBeUndefined();
    expect(decodeWords(fields.find((f) => f.name === 'subject')!.value)).toBe(`TLP:CLEAR [CRITICAL] HDR-1 revision 1: ${title}`);
    // What follows the header block is the signed body, byte for byte.
    expect(raw.slice(raw.indexOf('\r\n\r\n') + 4)).toBe(payload.body);
  });

  it('any subject whatever, controls, "=?", long words, any script, keeps the header set and decodes back to itself', () => {
    const rng = createRng(baseSeed);
    const pieces = ['\r\n', '\n', '\r', '\r\n\r\n', 'Bcc: x@evil.example', '\u0000', '\t', ' ', '  ', '=?UTF-8?Q?=41?=', '?=', '_', 'Überlauf', '👩‍💻', '\u202e', '\u2028', 'x'.repeat(1200), 'word', ':', 'From ', '"'];
    for (let i = 0; i < 300; i++) {
      const subject = Array.from({ length: rng.int(0, 12) }, () => rng.pick(pieces)).join('');
      const raw = buildEmailMessage({ contentType: 'multipart/signed; boundary="b"', body: 'BODY\r\n', subject }, envelope);
      const fields = headerFields(raw);
      expect({ seed: baseSeed, subject, names: fields.map((f) => f.name) }).toEqual({ seed: baseSeed, subject, names: HEADER_NAMES });
      // Unfolding gives back the header as written, so the decoded subject is the subject.
      const value = raw.slice(0, raw.indexOf('\r\n\r\n')).replace(/\r\n(?=[ \t])/g, '').split('\r\n').find((l) => l.startsWith('Subject: '))!.slice('Subject: '.length);
      expect({ seed: baseSeed, decoded: decodeWords(value) }).toEqual({ seed: baseSeed, decoded: subject });
      expect(raw.endsWith('\r\n\r\nBODY\r\n')).toBe(true);
    }
  });

  it('leaves a plain ASCII subject readable and folds it at spaces, and encodes what a reader would decode', () => {
    expect(unstructuredHeader('Subject', '[HIGH] ACME-1 revision 2: short')).toBe('Subject: [HIGH] ACME-1 revision 2: short');
    const long = unstructuredHeader('Subject', `[HIGH] ACME-1 revision 2: ${'word '.repeat(30)}end`);
    expect(long.split('\r\n').every((l) => l.length <= 78)).toBe(true);
    expect(long.replace(/\r\n/g, '')).toBe(`Subject: [HIGH] ACME-1 revision 2: ${'word '.repeat(30)}end`);
    expect(unstructuredHeader('Subject', 'looks =?UTF-8?Q?encoded?=')).toMatch(/^Subject: =\?UTF-8\?Q\?looks_=3D=3FUTF-8=3FQ=3Fencoded=3F=3D\?=$/);
    expect(unstructuredHeader('Subject', 'Überlauf').split('\r\n').every((l) => l.length <= 76)).toBe(true);
  });

  it('refuses a structured value that is not printable ASCII instead of sending it', () => {
    expect(structuredHeader('To', 'ops@partner.example')).toBe('To: ops@partner.example');
    expect(() => structuredHeader('To', 'ops@partner.example\r\nBcc: x@evil.example')).toThrow(/To header/);
    expect(() => buildEmailMessage({ contentType: 'text/plain', body: '', subject: 's' }, { ...envelope, to: 'a@b.example\nBcc: c@d.example' })).toThrow(/To header/);
  });
});
