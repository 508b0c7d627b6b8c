import { randomBytes } from 'node:crypto';
import * as openpgp from 'openpgp';
import { trimLineEnds } from './line-ends';

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

const QP_ESCAPES = Array.from({ length: 256 }, (_, b) => `=${b.toString(16).toUpperCase().padStart(2, '0')}`);

function encodeQpLine(bytes: Buffer): string {
  // "From " opening a line is encoded ("=46rom "), but only when its space is literal, i.e. not last.
  const fromLine = bytes.length > 5 && bytes.subarray(0, 5).toString('latin1') === 'From ';
  const lines: string[] = [];
  let current = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    const literal = (b >= 33 && b <= 126 && b !== 61) || ((b === 32 || b === 9) && i !== bytes.length - 1);
    const token = i === 0 && fromLine ? '=46' : literal ? String.fromCharCode(b) : QP_ESCAPES[b]!;
    if (current.length + token.length > QP_LINE - 1) {
      lines.push(`${current}=`);
      current = '';
    }
    current += token;
  }
  lines.push(current);
  return lines.join(CRLF);
}

const HEX_DIGIT = /^[0-9A-Fa-f]$/;

/** Undoes quoted-printable: soft line breaks go, `=XX` become bytes, read as UTF-8. */
export function decodeQuotedPrintable(encoded: string): string {
  const joined = encoded.replace(/=\r?\n/g, '');
  const parts: Buffer[] = [];
  let literalFrom = 0;
  for (let i = 0; i < joined.length; i++) {
    if (joined[i] !== '=' || !HEX_DIGIT.test(joined[i + 1] ?? '') || !HEX_DIGIT.test(joined[i + 2] ?? '')) continue;
    parts.push(Buffer.from(joined.slice(literalFrom, i), 'utf8'), Buffer.from([parseInt(joined.slice(i + 1, i + 3), 16)]));
    i += 2;
    literalFrom = i + 1;
  }
  parts.push(Buffer.from(joined.slice(literalFrom), 'utf8'));
  return Buffer.concat(parts).toString('utf8');
}

/** One MIME leaf: headers, a blank line, and the body (CRLF line endings throughout). */
function textLeaf(subtype: 'plain' | 'html', text: string): string {
  const normalised = trimLineEnds(text.replace(/\r\n?/g, '\n'));
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
