import { parseEmailInput } from '../../src/cli/inputs/email-input';
import { buildSignedBody, buildSignedEntity, encodeQuotedPrintable, isSevenBitSafe } from '../../src/notices/pgp-mime';

/** Decodes quoted-printable as any mail reader would (RFC 2045 6.7). */
function decodeQp(encoded: string): string {
  const bytes = encoded.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
  return Buffer.from(bytes, 'latin1').toString('utf8').replace(/\r\n/g, '\n');
}

describe('PGP/MIME building blocks', () => {
  it('quoted-printable round-trips UTF-8, wraps before 76 columns, and protects trailing blanks and "From "', () => {
    const text = `Überlauf — ${'x'.repeat(200)}\nFrom me \ntab\t\n= sign`;
    const encoded = encodeQuotedPrintable(text);
    expect(encoded.split('\r\n').filter((l) => l.length > 76)).toEqual([]);
    expect(encoded).toMatch(/^[\x20-\x7e\r\n]*$/);
    expect(encoded).toContain('=46rom me=20');
    expect(encoded).toContain('tab=09');
    expect(decodeQp(encoded)).toBe(text);
  });

  it('sends plain ASCII text as 7bit, so its lines stay readable as they are', () => {
    expect(isSevenBitSafe('Advisory: X revision 1\nTitle: plain')).toBe(true);
    expect(isSevenBitSafe('Title: Überlauf')).toBe(false);
    expect(isSevenBitSafe('trailing blank ')).toBe(false);
    expect(isSevenBitSafe('From the team')).toBe(false);
    const entity = buildSignedEntity('Advisory: X revision 1\nTitle: plain\n');
    expect(entity).toBe('Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\nAdvisory: X revision 1\r\nTitle: plain\r\n\r\n');
  });

  it('the .eml reader takes back exactly the entity that was signed, from CRLF and from LF files', () => {
    const entity = buildSignedEntity('Advisory: X revision 1\nTitle: T\n', '<p>hi</p>\n');
    const signature = '-----BEGIN PGP SIGNATURE-----\n\nabc\n-----END PGP SIGNATURE-----\n';
    const { contentType, body } = buildSignedBody(entity, signature, 'pgp-sha512');
    const eml = `From: a@example.org\r\nContent-Type: ${contentType.replace('; protocol', ';\r\n protocol')}\r\n\r\n${body}`;
    for (const file of [eml, eml.replace(/\r\n/g, '\n')]) {
      const parsed = parseEmailInput(file, undefined);
      expect(parsed).toEqual({ kind: 'detached', document: entity, signature: signature.trimEnd().replace(/\n/g, '\r\n'), form: 'email (.eml)' });
    }
  });

  it('the .eml reader leaves other messages to other parsers', () => {
    expect(parseEmailInput('From: a@example.org\r\nContent-Type: text/plain\r\n\r\nhello\r\n', undefined)).toBeNull();
    expect(parseEmailInput('{"document": "x"}', { document: 'x' })).toBeNull();
    expect(parseEmailInput('Content-Type: multipart/signed; protocol="application/pgp-signature"; boundary="b"\r\n\r\n--b\r\nno end', undefined)).toBeNull();
  });
});
