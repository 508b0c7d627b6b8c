import { randomBytes } from 'node:crypto';
import * as openpgp from 'openpgp';

/**
 * The pieces of an RFC 3156 PGP/MIME signed message. The signed entity must survive any mail
 * relay byte for byte, so it is 7-bit, has CRLF line endings and no trailing whitespace.
 */

const CRLF = '\r\n';
/** RFC 2045 limit for an encoded quoted-printable line, the soft-break "=" included. */
const QP_LINE = 76;

/** Fresh for every notice; "=_" can never occur in quoted-printable text, nor in our 7-bit text. */
export function newBoundary(tag: string): string {
  return `=_tocsin-${tag}-${randomBytes(12).toString('hex')}`;
}

/**
 * Whether text can go as `7bit`, unencoded, so a reader sees it (and `tocsin verify` reads its
 * "Advisory:" and "Title:" lines) verbatim: ASCII only, short lines, and nothing a relay rewrites
 * (trailing whitespace, a bare CR, or "From " which mbox tools turn into ">From ").
 */
export function isSevenBitSafe(text: string): boolean {
  return text.split('\n').every((line) => line.length <= 900 && /^[\x20-\x7e\t]*$/.test(line) && !/[ \t]$/.test(line) && !line.startsWith('From '));
}

/**
 * Quoted-printable (RFC 2045) over the UTF-8 bytes, one encoded line per text line, with soft
 * breaks before 76 characters. Trailing blanks and a leading "From " are encoded, so neither a
 * relay nor an mbox file can change the signed bytes.
 */
export function encodeQuotedPrintable(text: string): string {
  return text
    .split('\n')
    .map((line) => encodeQpLine(Buffer.from(line, 'utf8')))
    .join(CRLF);
}

function encodeQpLine(bytes: Buffer): string {
  const tokens: string[] = [];
  bytes.forEach((b, i) => {
    const last = i === bytes.length - 1;
    const literal = (b >= 33 && b <= 126 && b !== 61) || ((b === 32 || b === 9) && !last);
    tokens.push(literal ? String.fromCharCode(b) : `=${b.toString(16).toUpperCase().padStart(2, '0')}`);
  });
  if (tokens.slice(0, 5).join('') === 'From ') tokens[0] = '=46';
  const lines: string[] = [];
  let current = '';
  for (const token of tokens) {
    if (current.length + token.length > QP_LINE - 1) {
      lines.push(`${current}=`);
      current = '';
    }
    current += token;
  }
  lines.push(current);
  return lines.join(CRLF);
}

/** Undoes quoted-printable: soft line breaks go, `=XX` become bytes, read as UTF-8. */
export function decodeQuotedPrintable(encoded: string): string {
  const joined = encoded.replace(/=\r?\n/g, '');
  const bytes: number[] = [];
  for (let i = 0; i < joined.length; i++) {
    const hex = /^=([0-9A-F]{2})/i.exec(joined.slice(i, i + 3));
    if (hex?.[1]) {
      bytes.push(parseInt(hex[1], 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(joined[i]!, 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** One MIME leaf: headers, a blank line, and the body (CRLF line endings throughout). */
function textLeaf(subtype: 'plain' | 'html', text: string): string {
  const normalised = text.replace(/\r\n?/g, '\n').replace(/[ \t]+$/gm, '');
  const sevenBit = isSevenBitSafe(normalised);
  const body = sevenBit ? normalised.split('\n').join(CRLF) : encodeQuotedPrintable(normalised);
  return [
    `Content-Type: text/${subtype}; charset=utf-8`,
    `Content-Transfer-Encoding: ${sevenBit ? '7bit' : 'quoted-printable'}`,
    '',
    body,
  ].join(CRLF);
}

/** The entity that gets signed: the text alone, or text and HTML as multipart/alternative. Ends with CRLF. */
export function buildSignedEntity(text: string, html?: string): string {
  const plain = textLeaf('plain', text);
  if (html === undefined) return `${plain}${CRLF}`;
  const htmlLeaf = textLeaf('html', html);
  const boundary = newBoundary('alt');
  return [
    // Folded, to keep every line of the signed part under 78 characters.
    'Content-Type: multipart/alternative;',
    ` boundary="${boundary}"`,
    '',
    `--${boundary}`,
    plain,
    `--${boundary}`,
    htmlLeaf,
    `--${boundary}--`,
    '',
  ].join(CRLF);
}

/** RFC 3156's micalg for a signature: "pgp-" and the hash the signature packet names. */
export async function micalgOf(armoredSignature: string): Promise<string> {
  const signature = await openpgp.readSignature({ armoredSignature });
  const packet = signature.packets[0];
  if (!packet) throw new Error('the signature holds no signature packet');
  const name = Object.entries(openpgp.enums.hash).find(([, id]) => id === packet.hashAlgorithm)?.[0];
  if (!name) throw new Error(`unknown hash algorithm ${packet.hashAlgorithm}`);
  return `pgp-${name.toLowerCase()}`;
}

/**
 * Everything of a multipart/signed message after its top-level headers: the signed entity as is,
 * then the signature part. `contentType` is the header value that goes with it.
 */
export function buildSignedBody(signedEntity: string, armoredSignature: string, micalg: string): { contentType: string; body: string } {
  const boundary = newBoundary('signed');
  const signature = armoredSignature.replace(/\r\n?/g, '\n').trimEnd().split('\n').join(CRLF);
  const body = [
    'This is an OpenPGP/MIME signed message (RFC 4880 and 3156).',
    `--${boundary}`,
    // RFC 2046 gives the CRLF before a delimiter to the delimiter, so the entity's own final CRLF
    // stays inside the signed part: a reader cuts at the last CRLF before "--boundary".
    signedEntity,
    `--${boundary}`,
    'Content-Type: application/pgp-signature; name="signature.asc"',
    'Content-Description: OpenPGP digital signature',
    'Content-Disposition: attachment; filename="signature.asc"',
    '',
    signature,
    `--${boundary}--`,
    '',
  ].join(CRLF);
  return {
    contentType: `multipart/signed; micalg=${micalg}; protocol="application/pgp-signature"; boundary="${boundary}"`,
    body,
  };
}
